import path from 'node:path';
import { createLogger, dataPaths, loadConfig, type DataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { findTemporalCli, startDevServer, type DevServer } from '@skiff/orchestrator-temporal';

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

/**
 * TEMPORAL_ADDRESS set → that cluster. Unset → find the CLI (DESIGN.md §3 order) and start
 * `temporal server start-dev` with its db under the data dir, or reuse one already running there.
 */
export async function ensureTemporal(ctx: Context): Promise<DevServer> {
  const { config } = ctx;
  if (config.temporalAddress) {
    return { address: config.temporalAddress, uiUrl: null, started: false, stop: async () => {} };
  }
  const cli = await findTemporalCli({
    explicitPath: config.temporalCliPath,
    cacheDir: path.resolve(config.cacheDir),
    searchPath: config.searchPath,
    logger: ctx.logger,
  });
  ctx.say(`Temporal CLI: ${cli.kind === 'binary' ? `${cli.path} (${cli.source})` : cli.source}`);
  return startDevServer({
    cli,
    stateDir: ctx.paths.temporal,
    port: config.temporalPort,
    uiPort: config.temporalUiPort,
    namespace: config.temporalNamespace,
    logger: ctx.logger,
  });
}
