import { connectClient, installTemporalLogging, type SkiffClient } from '@skiff/orchestrator-temporal';
import type { DevServer } from '@skiff/orchestrator-temporal';
import { startWorker, type RunningWorker } from '@skiff/worker';
import { ensureTemporal, type Context } from './context.js';

export interface TemporalSession {
  server: DevServer;
  client: SkiffClient;
  worker: RunningWorker | null;
  close(options?: { stopServer?: boolean }): Promise<void>;
}

/** Reaches (or starts) Temporal, connects a client, and optionally runs a worker in this process. */
export async function openTemporal(ctx: Context, options: { worker: boolean }): Promise<TemporalSession> {
  installTemporalLogging(ctx.logger, ctx.config.logLevel);
  const server = await ensureTemporal(ctx);
  const client = await connectClient(server.address, ctx.config.temporalNamespace, server.started ? {} : ctx.config.temporalEnv);
  const worker = options.worker ? await startWorker(ctx.config, server.address, ctx.logger) : null;
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
