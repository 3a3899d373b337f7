import type { Server } from 'node:http';
import express from 'express';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Counter, Registry } from 'prom-client';
import type { Logger, ModelManifest, ModelRegistry, Recommender } from '@skiff/core';
import { bearerMatches, createApp, type OnlineEventRecord } from './app.js';
import { createRequestIds } from './request-ids.js';
import { createDashboardRouter } from './dashboard/router.js';
import type { DashboardSources } from './dashboard/data.js';
import { createModelHolder, type ModelHolder } from './model-holder.js';
import { createNdjsonLog, createNdjsonServingLog, type CreateNdjsonLogOptions } from './serving-log.js';

export interface StartServerOptions {
  registry: ModelRegistry;
  load: (dir: string, manifest: ModelManifest) => Promise<Recommender>;
  /** data/raw/serving: one line per answered request. */
  servingLogDir: string;
  /** Follow-up events (`skiff serve`: data/online, apart from the raw shop logs; default here: <servingLogDir>/../online). */
  eventsDir?: string;
  /** Signs request ids so that events are credited only to this deployment's recommendations (default: random per process). */
  requestIdSecret?: string;
  /** How far ahead a client's event time may be (seconds, default 300). */
  maxClockSkewSeconds?: number;
  host: string;
  port: number;
  logger: Logger;
  alias?: string;
  /** How often the alias is checked for a promotion (hot swap). */
  pollMs?: number;
  /** How long close() waits for in-flight requests before cutting connections. */
  drainMs?: number;
  /** Rotation, retention and fault handling of the serving and events logs. */
  servingLog?: Pick<
    CreateNdjsonLogOptions,
    'maxBytes' | 'retainBytes' | 'retainDays' | 'retryMs' | 'maxQueued' | 'flushMs'
  >;
  /** Host names the dashboard answers (default localhost, 127.0.0.1, [::1]). */
  dashboardHosts?: readonly string[];
  /** /metrics behind `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** /metrics on its own listener (same host) at this port instead of the API port (0: any free port). */
  metricsPort?: number;
  /** Requests per minute from one client address (0 or unset: no limit). */
  rateLimitPerMinute?: number;
  /** Micro-batching: keep collecting while requests keep arriving, up to this many ms (0 or unset: one event-loop turn). */
  batchSettleMs?: number;
  /** Serve the dashboard at /dashboard, reading these folders. */
  dashboard?: Omit<DashboardSources, 'registry' | 'servingLogDir' | 'eventsDir'>;
}

export interface RunningServer {
  url: string;
  /** Where /metrics is served when it has its own port. */
  metricsUrl?: string;
  models: ModelHolder;
  /** Graceful: stop accepting, finish in-flight requests, flush the logs. */
  close(): Promise<void>;
}

/** /metrics alone, for a port that only the scraper can reach (optionally behind a token too). */
function createMetricsApp(metrics: Registry, token: string | undefined) {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (req, res) => {
    if (token && !bearerMatches(req.headers.authorization, token))
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'send Authorization: Bearer <metrics token>' } });
    else res.type(metrics.contentType).send(await metrics.metrics());
  });
  app.use((_req, res) => res.status(404).json({ error: { code: 'NOT_FOUND', message: 'only /metrics here' } }));
  return app;
}

/** Loads the alias, listens, and polls the registry so a promotion swaps the model without downtime. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const {
    registry,
    load,
    servingLogDir,
    host,
    port,
    logger,
    alias = 'production',
    pollMs = 5_000,
    drainMs = 10_000,
  } = options;
  const metrics = new Registry();
  const loadFailures = new Counter({
    name: 'skiff_model_load_failures_total',
    help: 'Model versions that failed to load, verify or warm up',
    labelNames: ['version'],
    registers: [metrics],
  });
  const models = createModelHolder({
    registry,
    alias,
    load,
    logger,
    onLoadError: (version) => loadFailures.inc({ version }),
  });
  const first = await models.refresh();
  if (!first.version) logger.warn('no model under the alias yet; /readyz stays 503 until one is promoted', { alias });
  const onFault = (log: string) => (e: Error | null) =>
    e
      ? logger.error('log writes failing; records are counted as dropped until the disk recovers', {
          log,
          error: e.message,
        })
      : logger.info('log writes recovered', { log });
  const servingLog = createNdjsonServingLog(servingLogDir, undefined, {
    ...options.servingLog,
    onFault: onFault('serving'),
  });
  const eventsDir = options.eventsDir ?? path.join(servingLogDir, '..', 'online');
  const eventsLog = createNdjsonLog<OnlineEventRecord>({
    ...options.servingLog,
    dir: eventsDir,
    prefix: 'events',
    onFault: onFault('events'),
  });
  const dashboard = options.dashboard
    ? createDashboardRouter({ ...options.dashboard, registry, servingLogDir, eventsDir }, models)
    : undefined;
  const separateMetrics = options.metricsPort !== undefined;
  const metricsAccess = separateMetrics
    ? { mode: 'elsewhere' as const }
    : options.metricsToken
      ? { mode: 'token' as const, token: options.metricsToken }
      : { mode: 'open' as const };
  const app = createApp({
    models,
    servingLog,
    eventsLog,
    logger,
    metrics,
    metricsAccess,
    requestIds: createRequestIds(options.requestIdSecret),
    maxClockSkewMs: (options.maxClockSkewSeconds ?? 300) * 1000,
    ...(options.dashboardHosts ? { dashboardHosts: options.dashboardHosts } : {}),
    ...(options.rateLimitPerMinute ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    ...(options.batchSettleMs ? { batchSettleMs: options.batchSettleMs } : {}),
    ...(dashboard ? { dashboard } : {}),
  });
  const listen = (
    handler: ReturnType<typeof createApp> | ReturnType<typeof createMetricsApp>,
    p: number,
  ): Promise<Server> =>
    new Promise((resolve, reject) => {
      const s = handler.listen(p, host, () => resolve(s));
      s.once('error', reject);
    });
  const server = await listen(app, port);
  const metricsServer = separateMetrics
    ? await listen(createMetricsApp(metrics, options.metricsToken), options.metricsPort ?? 0)
    : null;
  // refresh() never rejects (a failed poll keeps the current model and is reported on /readyz);
  // the catch is the last guard against an unhandled rejection ending the process.
  const timer = setInterval(() => {
    models.refresh().catch((e: unknown) => logger.error('registry poll failed', { error: (e as Error).message }));
  }, pollMs);
  timer.unref();
  const { port: actual } = server.address() as AddressInfo;
  const url = `http://${host}:${actual}`;
  const metricsUrl = metricsServer
    ? `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics`
    : undefined;
  logger.info('serving', { url, alias, modelVersion: models.current()?.manifest.version ?? null });
  let closing: Promise<void> | null = null;
  return {
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    models,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        if (metricsServer) {
          metricsServer.closeAllConnections();
          await new Promise<void>((r) => metricsServer.close(() => r()));
        }
        const closed = new Promise<void>((r) => server.close(() => r()));
        // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
        server.closeIdleConnections();
        const drained = await Promise.race([
          closed.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), drainMs).unref()),
        ]);
        if (!drained) {
          logger.warn('in-flight requests cut after the drain timeout', { drainMs });
          server.closeAllConnections();
          await closed;
        }
        await servingLog.close();
        await eventsLog.close();
      })();
      return closing;
    },
  };
}
