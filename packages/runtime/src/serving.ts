import { dataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { loadRecommender, setBackendPreference, setIntraOpThreads } from '@skiff/model';
import { startServer, type RunningServer } from '@skiff/serve-http';
import { buildRegistry, buildTracker } from './pipeline.js';

export type { RunningServer } from '@skiff/serve-http';

/**
 * A process that only serves runs many small batches next to the HTTP work: one TensorFlow
 * intra-op thread by default (SKIFF_SERVE_TF_THREADS). Not in `skiff demo`, whose process also
 * trains. Call it before anything loads a model.
 */
export function configureServingProcess(config: SkiffConfig): void {
  setIntraOpThreads(config.serveTfThreads);
}

export interface StartServingOptions {
  port?: number;
  host?: string;
  /** Linked from the dashboard when Temporal's Web UI is known. */
  temporalUiUrl?: string | null | undefined;
  /** How often the registry alias is polled for a promotion (default 5 s; tests shorten it). */
  pollMs?: number;
}

/** SWAP POINT: serving — the HTTP app over this config's registry, the tfjs model loader and the data dir's logs. */
export async function startServing(
  config: SkiffConfig,
  logger: Logger,
  options: StartServingOptions = {},
): Promise<RunningServer> {
  const paths = dataPaths(config.dataDir);
  setBackendPreference(config.tfBackend);
  return startServer({
    dashboard: {
      tracker: buildTracker(config),
      reportsDir: paths.reports,
      rawDir: paths.raw,
      temporalUiUrl: options.temporalUiUrl ?? undefined,
      temporalNamespace: config.temporalNamespace,
    },
    registry: buildRegistry(config),
    load: (dir) => loadRecommender(dir),
    servingLogDir: paths.servingLogs,
    eventsDir: paths.onlineEvents,
    servingLog: { retainBytes: config.servingLogRetainBytes, retainDays: config.servingLogRetainDays },
    dashboardHosts: config.dashboardHosts,
    rateLimitPerMinute: config.rateLimitPerMinute,
    batchSettleMs: config.serveBatchSettleMs,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
    ...(config.requestIdSecret ? { requestIdSecret: config.requestIdSecret } : {}),
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    ...(config.metricsPort !== undefined ? { metricsPort: config.metricsPort } : {}),
    host: options.host ?? config.serveHost,
    port: options.port ?? config.servePort,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    logger: logger.child({ app: 'serve' }),
  });
}
