import { dataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import {
  connectClient,
  findTemporalCli,
  installTemporalLogging,
  startDevServer,
  type DevServer,
  type SkiffClient,
} from '@skiff/orchestrator-temporal';
import { startWorker, type RunningWorker } from './worker.js';

/**
 * TEMPORAL_ADDRESS set → that cluster. Unset → find the CLI (`findTemporalCli`, in the order of infra/temporal/README.md) and start
 * `temporal server start-dev` with its db under the data dir, or reuse one already running there.
 * `say` gets a line naming the CLI that was found.
 */
export async function ensureTemporal(
  config: SkiffConfig,
  logger: Logger,
  say: (line: string) => void = () => {},
): Promise<DevServer> {
  if (config.temporalAddress) {
    return { address: config.temporalAddress, uiUrl: null, started: false, stop: async () => {} };
  }
  const cli = await findTemporalCli({
    explicitPath: config.temporalCliPath,
    cacheDir: config.cacheDir,
    searchPath: config.searchPath,
    logger,
  });
  say(`Temporal CLI: ${cli.kind === 'binary' ? `${cli.path} (${cli.source})` : cli.source}`);
  return startDevServer({
    cli,
    stateDir: dataPaths(config.dataDir).temporal,
    port: config.temporalPort,
    uiPort: config.temporalUiPort,
    namespace: config.temporalNamespace,
    logger,
  });
}

export interface TemporalSession {
  server: DevServer;
  client: SkiffClient;
  worker: RunningWorker | null;
  close(options?: { stopServer?: boolean }): Promise<void>;
}

/** Reaches (or starts) Temporal, connects a client, and optionally runs a worker in this process. */
export async function openTemporal(
  config: SkiffConfig,
  logger: Logger,
  options: { worker: boolean; say?: (line: string) => void },
): Promise<TemporalSession> {
  installTemporalLogging(logger, config.logLevel);
  const server = await ensureTemporal(config, logger, options.say);
  const client = await connectClient(
    server.address,
    config.temporalNamespace,
    server.started ? {} : config.temporalEnv,
  );
  const worker = options.worker ? await startWorker(config, server.address, logger) : null;
  return {
    server,
    client,
    worker,
    async close({ stopServer = true } = {}) {
      await worker?.shutdown();
      await client.close();
      if (stopServer) await server.stop();
    },
  };
}
