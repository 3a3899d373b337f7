import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import {
  ClientIdSchema,
  ITEM_EVENT_TYPES,
  RecommendationRequestSchema,
  toSkiffError,
  type Logger,
  type RawEvent,
  type RecommendationRequest,
  parseTimestamp,
} from '@skiff/core';
import { createMicroBatcher } from './batcher.js';
import { createRequestIds, type RequestIds } from './request-ids.js';
import { DASHBOARD_SCRIPT_HASH } from './dashboard/page.js';
import { scoredItemsJson, sendJson } from './json.js';
import type { LoadedModel, ModelHolder } from './model-holder.js';
import type { NdjsonLog, NdjsonLogHealth, ServingLog } from './serving-log.js';

export interface AppDeps {
  models: ModelHolder;
  servingLog: ServingLog;
  /** Where the events that followed a recommendation go (data/online; ingested only when configured). */
  eventsLog?: NdjsonLog<OnlineEventRecord>;
  /** Issues and verifies signed request ids (default: a random secret per app). */
  requestIds?: RequestIds;
  /** How far ahead of the server's clock a client's event time may be (ms) before the event is refused. */
  maxClockSkewMs?: number;
  logger: Logger;
  /** A fresh registry per app keeps tests independent. */
  metrics?: Registry;
  now?: () => Date;
  /** Mounted at /dashboard when given (see dashboard/router.ts). */
  dashboard?: Router;
  /** Host header values the dashboard answers; an Origin header must name one of them too. */
  dashboardHosts?: readonly string[];
  /** /metrics on this app: open, behind a bearer token, or not at all (served on its own port). */
  metricsAccess?: { mode: 'open' } | { mode: 'token'; token: string } | { mode: 'elsewhere' };
  /** Requests per minute from one client address (0 or unset: no limit). */
  rateLimitPerMinute?: number;
  /** Micro-batching: keep collecting while requests keep arriving, up to this many ms (0 or unset: one turn; batcher.ts). */
  batchSettleMs?: number;
}

/**
 * Request limits. The schemas enforce items ≤ 200, k ≤ 200 and ids ≤ 256 characters; a batch may
 * ask for at most `batchRecommendations` items in all, so one request writes a bounded serving log
 * (≤ the body plus 2,000 scored items).
 */
export const LIMITS = { bodyBytes: '256kb', batchSize: 100, batchRecommendations: 2000, eventsPerPost: 1000 } as const;

const BatchSchema = z
  .object({ requests: z.array(RecommendationRequestSchema).min(1).max(LIMITS.batchSize) })
  .strict()
  .refine((b) => b.requests.reduce((n, r) => n + r.k, 0) <= LIMITS.batchRecommendations, {
    message: `the requests of a batch ask for more than ${LIMITS.batchRecommendations} items in all (sum of k)`,
    path: ['requests'],
  });
const EventsSchema = z
  .object({
    events: z
      .array(
        z
          .object({
            sessionId: ClientIdSchema,
            itemId: ClientIdSchema,
            eventType: z.enum(ITEM_EVENT_TYPES).default('click'),
            /** The client's own clock: kept apart (client_timestamp); the event's time is the server's. */
            ts: z.iso.datetime().optional(),
            /** The `requestId` the server returned with the recommendation this event followed. */
            requestId: z.string().min(1).max(100),
          })
          .strict(),
      )
      .min(1)
      .max(LIMITS.eventsPerPost),
  })
  .strict();

/** One line of the online events log (data/online): the raw event contract plus its provenance. */
export type OnlineEventRecord = RawEvent & { request_id: string; client_timestamp?: string };

/** Why a posted event was not stored. */
export type EventRefusal = 'invalid' | 'unverified_request_id' | 'future_client_time';

export const DEFAULT_DASHBOARD_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

/** The host part of a Host header or of an Origin URL, lower-cased, without the port. */
function hostOf(value: string): string | null {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * The dashboard answers only under the configured host names (a page on another site that resolves
 * its own name to this server — DNS rebinding — is refused) and only same-site browser requests.
 */
function hostPolicy(hosts: readonly string[]) {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction) => {
    const host = hostOf(req.headers.host ?? '');
    if (!host || !allowed.has(host))
      return sendError(
        res,
        421,
        'HOST_NOT_ALLOWED',
        `the dashboard does not answer for host "${String(req.headers.host ?? '').slice(0, 100)}"`,
      );
    const origin = req.headers.origin;
    if (origin !== undefined && (origin === 'null' || !allowed.has(hostOf(origin) ?? '')))
      return sendError(res, 403, 'ORIGIN_NOT_ALLOWED', 'cross-origin requests to the dashboard are refused');
    next();
  };
}

/** Constant-time comparison of an `Authorization: Bearer …` header with the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function sendError(res: Response, status: number, code: string, message: string) {
  sendJson(res, status, JSON.stringify({ error: { code, message } }));
}

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
    .join('; ');
}

/** The serving app (its HTTP contract: docs/design.md, Serving), built apart from listen() so tests drive it in-process. */
export function createApp(deps: AppDeps) {
  const { models, servingLog, eventsLog, logger, now = () => new Date() } = deps;
  const metrics = deps.metrics ?? new Registry();
  collectDefaultMetrics({ register: metrics });
  const latency = new Histogram({
    name: 'skiff_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [metrics],
  });
  const requests = new Counter({
    name: 'skiff_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: [metrics],
  });
  const served = new Counter({
    name: 'skiff_recommendations_total',
    help: 'Recommendation lists served',
    labelNames: ['model_version'],
    registers: [metrics],
  });
  const unknown = new Counter({
    name: 'skiff_unknown_items_total',
    help: 'Input items unknown to the served model',
    registers: [metrics],
  });
  const events = new Counter({
    name: 'skiff_events_total',
    help: 'Follow-up events accepted on /v1/events',
    registers: [metrics],
  });
  const refusedEvents = new Counter({
    name: 'skiff_events_refused_total',
    help: 'Events refused on /v1/events, by reason',
    labelNames: ['reason'],
    registers: [metrics],
  });
  const requestIds = deps.requestIds ?? createRequestIds();
  const maxSkewMs = deps.maxClockSkewMs ?? 300_000;
  const info = new Gauge({
    name: 'skiff_model_info',
    help: 'The served model (value 1)',
    labelNames: ['name', 'version'],
    registers: [metrics],
    collect() {
      this.reset();
      const m = models.current();
      if (m) this.set({ name: m.manifest.name, version: m.manifest.version }, 1);
    },
  });
  void info;
  new Gauge({
    name: 'skiff_serving_log_queue_depth',
    help: 'Serving log records waiting to be written',
    registers: [metrics],
    collect() {
      this.set(servingLog.depth());
    },
  });

  /** Background faults: the registry poll and the log files. The model in memory keeps serving through all of them. */
  const faults = () => {
    const out: Array<{ component: string; error: string; since: string | null }> = [];
    const poll = models.health?.();
    if (poll?.error) out.push({ component: 'registry', error: poll.error, since: poll.since });
    const logs: Array<[string, NdjsonLog<unknown> | undefined]> = [
      ['serving_log', servingLog as NdjsonLog<unknown>],
      ['events_log', eventsLog as NdjsonLog<unknown> | undefined],
    ];
    for (const [component, log] of logs) {
      const h = log?.health();
      if (h?.error) out.push({ component, error: h.error, since: h.since });
    }
    return out;
  };
  new Gauge({
    name: 'skiff_fault',
    help: 'A background task is failing (1) or healthy (0), by component',
    labelNames: ['component'],
    registers: [metrics],
    collect() {
      const now = new Set(faults().map((f) => f.component));
      for (const component of ['registry', 'serving_log', ...(eventsLog ? ['events_log'] : [])])
        this.set({ component }, now.has(component) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'skiff_registry_poll_failures',
    help: 'Registry polls that failed since start (the served model was kept)',
    registers: [metrics],
    collect() {
      this.set(models.health?.().failures ?? 0);
    },
  });
  const logGauge = (name: string, help: string, pick: (h: NdjsonLogHealth) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['log'],
      registers: [metrics],
      collect() {
        this.set({ log: 'serving' }, pick(servingLog.health()));
        if (eventsLog) this.set({ log: 'events' }, pick(eventsLog.health()));
      },
    });
  logGauge('skiff_log_records_written', 'Log records written to a file since start', (h) => h.written);
  logGauge(
    'skiff_log_records_dropped',
    'Log records that could not be written (failed write, or queue full during a fault) since start',
    (h) => h.dropped,
  );
  logGauge('skiff_log_write_errors', 'Log open/write errors since start', (h) => h.errors);
  logGauge('skiff_log_files_removed', 'Log files removed by retention since start', (h) => h.removedFiles);

  const batchCalls = new Counter({
    name: 'skiff_model_batches_total',
    help: 'Model calls of the micro-batching (each scores one or more requests)',
    registers: [metrics],
  });
  const batchedRequests = new Counter({
    name: 'skiff_model_batched_requests_total',
    help: 'Requests scored through the micro-batching',
    registers: [metrics],
  });
  const batcher = createMicroBatcher({
    settleMs: deps.batchSettleMs ?? 0,
    onBatch: (size) => {
      batchCalls.inc();
      batchedRequests.inc(size);
    },
  });
  new Gauge({
    name: 'skiff_model_batch_size_mean',
    help: 'Mean requests scored per model call (micro-batching)',
    registers: [metrics],
    collect() {
      this.set(batcher.meanBatchSize());
    },
  });

  const app = express();
  app.disable('x-powered-by');
  // Security headers; the dashboard's one inline script is allowed by its hash (dashboard/page.ts).
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", DASHBOARD_SCRIPT_HASH],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
        },
      },
      strictTransportSecurity: false, // plain HTTP behind the deployment's TLS terminator
    }),
  );
  if (deps.rateLimitPerMinute)
    app.use(
      rateLimit({
        windowMs: 60_000,
        limit: deps.rateLimitPerMinute,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        // Health checks stay answerable under a flood (an orchestrator must see the process alive).
        skip: (req) => req.path === '/healthz' || req.path === '/readyz',
        handler: (_req, res) =>
          sendError(
            res,
            429,
            'RATE_LIMITED',
            `more than ${deps.rateLimitPerMinute} requests per minute from this address`,
          ),
      }),
    );
  // No ETag: nothing revalidates API answers, and Express would hash every JSON body for it.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const end = latency.startTimer();
    res.once('finish', () => {
      const labels = {
        route: (req.route?.path as string | undefined)?.toString() ?? 'unmatched',
        status: String(res.statusCode),
      };
      end(labels);
      requests.inc(labels);
    });
    // Only JSON bodies: anything else is a 415 before parsing. The exact header every client
    // sends skips type-is' full media-type parse (express.json checks the type again anyway).
    if (req.method === 'POST' && req.headers['content-type'] !== 'application/json' && !req.is('application/json'))
      return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    next();
  });
  app.use(express.json({ limit: LIMITS.bodyBytes, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const m = models.current();
    const f = faults();
    if (!m)
      return sendJson(
        res,
        503,
        JSON.stringify({ error: { code: 'MODEL_NOT_FOUND', message: 'no model loaded yet' }, faults: f }),
      );
    // Still ready: the loaded model answers; "degraded" names what is failing in the background.
    res.json({
      status: f.length ? 'degraded' : 'ready',
      model: { name: m.manifest.name, version: m.manifest.version },
      faults: f,
    });
  });
  const access = deps.metricsAccess ?? { mode: 'open' };
  if (access.mode !== 'elsewhere')
    app.get('/metrics', async (req, res) => {
      if (access.mode === 'token' && !bearerMatches(req.headers.authorization, access.token))
        return sendError(res, 401, 'UNAUTHORIZED', 'send Authorization: Bearer <metrics token>');
      res.type(metrics.contentType).send(await metrics.metrics());
    });

  /** Scores one request against one model snapshot (the caller holds `m` for the whole request). */
  async function answer(m: LoadedModel, r: RecommendationRequest, started: number) {
    const unknownItems = r.items.reduce((n, i) => (m.known.has(i) ? n : n + 1), 0);
    // Only explicitly excluded items are filtered: the model was evaluated with repeats allowed.
    // Requests without exclusions share model calls with their neighbours (micro-batching).
    const recs = r.exclude
      ? m.recommender.recommend(r.items, r.k, new Set(r.exclude))
      : await batcher.recommend(m, r.items, r.k);
    const items = recs.map((x) => ({ itemId: x.itemId, score: Math.round(x.score * 1e6) / 1e6 }));
    const model = { name: m.manifest.name, version: m.manifest.version };
    served.inc({ model_version: model.version });
    if (unknownItems) unknown.inc(unknownItems);
    const requestId = requestIds.issue(r.sessionId ?? null);
    // Written by the log's timer, off the request path (serving-log.ts).
    servingLog.append({
      ts: now().toISOString(),
      requestId,
      sessionId: r.sessionId ?? null,
      items: r.items,
      k: r.k,
      unknownItems,
      recommended: items,
      model,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    return { items, model, unknownItems, requestId };
  }

  app.post('/v1/recommendations', async (req, res) => {
    const started = performance.now();
    const parsed = RecommendationRequestSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'BAD_INPUT', zodMessage(parsed.error));
    const m = models.current();
    if (!m) return sendError(res, 503, 'MODEL_NOT_FOUND', 'no model loaded yet');
    const a = await answer(m, parsed.data, started);
    // The answer's keys in the documented order (items, model); the list by hand (json.ts), the rest is small.
    sendJson(
      res,
      200,
      `{"items":${scoredItemsJson(a.items)},"model":${JSON.stringify(a.model)},"unknownItems":${a.unknownItems},"requestId":${JSON.stringify(a.requestId)}}`,
    );
  });

  // A regex route: in Express 5 paths a ':' starts a parameter.
  app.post(/^\/v1\/recommendations:batch$/, async (req, res) => {
    const started = performance.now();
    const parsed = BatchSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'BAD_INPUT', zodMessage(parsed.error));
    const m = models.current();
    if (!m) return sendError(res, 503, 'MODEL_NOT_FOUND', 'no model loaded yet');
    const results = await Promise.all(
      parsed.data.requests.map(async (r) => {
        const a = await answer(m, r, started);
        return { items: a.items, unknownItems: a.unknownItems, requestId: a.requestId };
      }),
    );
    res.json({ results, model: { name: m.manifest.name, version: m.manifest.version } });
  });

  app.post('/v1/events', (req, res) => {
    const parsed = EventsSchema.safeParse(req.body);
    if (!parsed.success) {
      const body = req.body as { events?: unknown } | null;
      refusedEvents.inc(
        { reason: 'invalid' },
        Array.isArray(body?.events) ? Math.min(body.events.length, 100_000) || 1 : 1,
      );
      return sendError(res, 400, 'BAD_INPUT', zodMessage(parsed.error));
    }
    if (!eventsLog) return sendError(res, 404, 'NOT_FOUND', 'event collection is not enabled');
    const at = now();
    const ts = at.toISOString();
    const refused: Array<{ index: number; reason: EventRefusal }> = [];
    let accepted = 0;
    parsed.data.events.forEach((e, index) => {
      let reason: EventRefusal | null = null;
      if (!requestIds.verify(e.requestId, e.sessionId)) reason = 'unverified_request_id';
      else if (e.ts !== undefined) {
        // zod's ISO check is looser than core's (any number of fraction digits): a time core cannot
        // read is refused like one in the future, never waved through.
        const clientMs = parseTimestamp(e.ts);
        if (clientMs === undefined || clientMs > at.getTime() + maxSkewMs) reason = 'future_client_time';
      }
      if (reason) {
        refused.push({ index, reason });
        refusedEvents.inc({ reason });
        return;
      }
      eventsLog.append({
        session_id: e.sessionId,
        event_type: e.eventType,
        item_id: e.itemId,
        timestamp: ts,
        request_id: e.requestId,
        ...(e.ts ? { client_timestamp: e.ts } : {}),
      });
      accepted++;
    });
    events.inc(accepted);
    res.status(202).json({ accepted, refused: refused.length, refusals: refused.slice(0, 20) });
  });

  if (deps.dashboard) app.use('/dashboard', hostPolicy(deps.dashboardHosts ?? DEFAULT_DASHBOARD_HOSTS), deps.dashboard);

  app.use((_req, res) => sendError(res, 404, 'NOT_FOUND', 'no such route'));
  // Express error middleware: malformed JSON and anything thrown end here as JSON, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'BAD_INPUT', 'request body is not valid JSON');
    if (e.type === 'entity.too.large')
      return sendError(res, 413, 'BAD_INPUT', `request body larger than ${LIMITS.bodyBytes}`);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported encoding');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      return sendError(res, e.status, 'BAD_INPUT', e.message ?? 'bad request');
    const se = toSkiffError(err);
    logger.error('request failed', { code: se.code, error: se.message });
    sendError(res, 500, 'INTERNAL', 'internal error');
  });
  return app;
}
