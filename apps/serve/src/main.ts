#!/usr/bin/env node
/**
 * The serving process, deployable alone (`node apps/serve/dist/main.js`):
 * Step 1: parse config (SKIFF_DATA_DIR, SKIFF_SERVE_PORT, SKIFF_SERVE_HOST, …). Step 2: serve the
 * `production` alias over HTTP, hot-swapping on promotion. Step 3: on SIGINT/SIGTERM, finish
 * in-flight requests, flush the logs and exit 0.
 */
import { createLogger, loadConfig } from '@skiff/config';
import { configureServingProcess, startServing, untilSignal } from '@skiff/runtime';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { app: 'serve' } });
  configureServingProcess(config);
  const server = await startServing(config, logger);
  await untilSignal();
  await server.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`serve failed: ${(err as Error).message}\n`);
  process.exit(1);
});
