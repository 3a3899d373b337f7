#!/usr/bin/env node
/**
 * The Temporal worker as a process, deployable alone (`node apps/worker/dist/main.js`):
 * Step 1: parse config (TEMPORAL_ADDRESS, SKIFF_WORKER_ROLES, …). Step 2: reach Temporal (a dev
 * server under the data dir when no address is set) and poll the queues of the configured roles.
 * Step 3: on SIGINT/SIGTERM, let running activities checkpoint and stop.
 */
import { createLogger, loadConfig } from '@skiff/config';
import { openTemporal, untilSignal } from '@skiff/runtime';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { app: 'worker' } });
  const t = await openTemporal(config, logger, { worker: true, say: (line) => logger.info(line) });
  await Promise.race([untilSignal(), t.worker!.done]);
  await t.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${(err as Error).message}\n`);
  process.exit(1);
});
