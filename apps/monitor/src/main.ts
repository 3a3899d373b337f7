#!/usr/bin/env node
/**
 * One monitoring run as a process (the same run the Temporal schedule triggers):
 * Step 1: parse config. Step 2: compare the served model's training snapshot with the serving log.
 * Step 3: print the verdict as JSON; exit 0 (drift is a verdict, not a failure).
 */
import { createLogger, loadConfig } from '@skiff/config';
import { monitorOnce } from '@skiff/runtime';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { app: 'monitor' } });
  const result = await monitorOnce(config, logger);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`monitor failed: ${(err as Error).message}\n`);
  process.exit(1);
});
