import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, ModelManifest, ModelRegistry, Recommender } from '@skiff/core';
import { createApp } from './app.js';
import { createModelHolder, type ModelHolder } from './model-holder.js';
import { createNdjsonServingLog } from './serving-log.js';

export interface StartServerOptions {
  registry: ModelRegistry;
  load: (dir: string, manifest: ModelManifest) => Promise<Recommender>;
  servingLogDir: string;
  host: string;
  port: number;
  logger: Logger;
  alias?: string;
  /** How often the alias is checked for a promotion (hot swap). */
  pollMs?: number;
}

export interface RunningServer {
  url: string;
  models: ModelHolder;
  close(): Promise<void>;
}

/** Loads the alias, listens, and polls the registry so a promotion swaps the model without downtime. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { registry, load, servingLogDir, host, port, logger, alias = 'production', pollMs = 5_000 } = options;
  const models = createModelHolder({ registry, alias, load, logger });
  const first = await models.refresh();
  if (!first.version) logger.warn('no model under the alias yet; /readyz stays 503 until one is promoted', { alias });
  const servingLog = createNdjsonServingLog(servingLogDir);
  const app = createApp({ models, servingLog, logger });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  const timer = setInterval(() => void models.refresh(), pollMs);
  timer.unref();
  const { port: actual } = server.address() as AddressInfo;
  const url = `http://${host}:${actual}`;
  logger.info('serving', { url, alias, modelVersion: models.current()?.manifest.version ?? null });
  return {
    url,
    models,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await servingLog.close();
    },
  };
}
