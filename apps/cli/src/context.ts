import { createLogger, dataPaths, loadConfig, type DataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { openTemporal as openRuntimeTemporal, type TemporalSession } from '@skiff/runtime';

export interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  logLevel?: string;
}

export interface Context {
  config: SkiffConfig;
  paths: DataPaths;
  logger: Logger;
  json: boolean;
  /** Human-readable line on stdout (suppressed with --json, where only the final object is printed). */
  say(line: string): void;
  /** The command's result: the last line of stdout with --json. */
  result(obj: unknown): void;
}

/** The only place the CLI reads process.env: config is parsed once, flags win over env. */
export function createContext(opts: GlobalOptions, extra: Partial<SkiffConfig> = {}): Context {
  const config = loadConfig(process.env, { dataDir: opts.dataDir, logLevel: opts.logLevel, ...extra });
  const json = Boolean(opts.json);
  const logger = createLogger({ level: config.logLevel, base: { app: 'skiff' } });
  return {
    config,
    paths: dataPaths(config.dataDir),
    logger,
    json,
    say: (line) => {
      if (!json) process.stdout.write(line + '\n');
    },
    result: (obj) => {
      if (json) process.stdout.write(JSON.stringify(obj) + '\n');
    },
  };
}

/** Reaches (or starts) Temporal and connects, optionally running a worker in this process (`@skiff/runtime`). */
export function openTemporal(ctx: Context, options: { worker: boolean }): Promise<TemporalSession> {
  return openRuntimeTemporal(ctx.config, ctx.logger, { ...options, say: (line) => ctx.say(line) });
}
