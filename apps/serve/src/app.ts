import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RecommendationRequestSchema, SkiffError, toSkiffError, type Logger } from '@skiff/core';
import type { ModelHolder } from './model-holder.js';
import type { ServingLog } from './serving-log.js';

export interface AppDeps {
  models: ModelHolder;
  servingLog: ServingLog;
  logger: Logger;
  /** A fresh registry per app keeps tests independent. */
  metrics?: Registry;
}

const STATUS: Partial<Record<SkiffError['code'], number>> = {
  BAD_INPUT: 400,
  DATA_CONTRACT_VIOLATION: 422,
  MODEL_NOT_FOUND: 503,
};

function sendError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

/** The serving app (DESIGN.md §6), built apart from listen() so tests drive it in-process. */
export function createApp(deps: AppDeps) {
  const { models, servingLog, logger } = deps;
  const metrics = deps.metrics ?? new Registry();
  collectDefaultMetrics({ register: metrics });
  const latency = new Histogram({
    name: 'skiff_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [metrics],
  });
  const served = new Counter({ name: 'skiff_recommendations_total', help: 'Recommendation responses', labelNames: ['model_version'], registers: [metrics] });
  const unknown = new Counter({ name: 'skiff_unknown_items_total', help: 'Input items unknown to the served model', registers: [metrics] });
  const version = new Gauge({ name: 'skiff_model_info', help: 'Served model (value 1)', labelNames: ['name', 'version'], registers: [metrics] });

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const end = latency.startTimer();
    res.on('finish', () => end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  app.use(express.json({ limit: '100kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const m = models.current();
    if (!m) return sendError(res, 503, 'MODEL_NOT_FOUND', 'no model loaded yet');
    res.json({ status: 'ready', model: { name: m.manifest.name, version: m.manifest.version } });
  });
  app.get('/metrics', async (_req, res) => {
    const m = models.current();
    version.reset();
    if (m) version.set({ name: m.manifest.name, version: m.manifest.version }, 1);
    res.type(metrics.contentType).send(await metrics.metrics());
  });

  app.post('/v1/recommendations', (req, res) => {
    const started = performance.now();
    const parsed = RecommendationRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return sendError(res, 400, 'BAD_INPUT', msg);
    }
    const m = models.current();
    if (!m) return sendError(res, 503, 'MODEL_NOT_FOUND', 'no model loaded yet');
    const { items, k, sessionId, exclude } = parsed.data;
    const unknownItems = items.filter((i) => !m.known.has(i)).length;
    // Only explicitly excluded items are filtered: the model was evaluated with repeats allowed.
    const recs = m.recommender.recommend(items, k, exclude ? new Set(exclude) : undefined);
    const body = {
      items: recs.map((r) => ({ itemId: r.itemId, score: Number(r.score.toFixed(6)) })),
      model: { name: m.manifest.name, version: m.manifest.version },
      unknownItems,
    };
    res.json(body);
    served.inc({ model_version: m.manifest.version });
    if (unknownItems) unknown.inc(unknownItems);
    servingLog.append({
      ts: new Date().toISOString(),
      requestId: randomUUID(),
      sessionId: sessionId ?? null,
      items,
      k,
      unknownItems,
      recommended: body.items,
      model: body.model,
      latencyMs: Number((performance.now() - started).toFixed(3)),
    });
  });

  app.use((_req, res) => sendError(res, 404, 'NOT_FOUND', 'no such route'));
  // Express error middleware: malformed JSON and anything thrown end here as JSON, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'BAD_INPUT', 'request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 413, 'BAD_INPUT', 'request body too large');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, e.status, 'BAD_INPUT', e.message ?? 'bad request');
    const se = toSkiffError(err);
    logger.error('request failed', { code: se.code, error: se.message });
    sendError(res, STATUS[se.code] ?? 500, se.code, STATUS[se.code] ? se.message : 'internal error');
  });
  return app;
}
