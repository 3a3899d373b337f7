import path from 'node:path';
import {
  chooseLogSink,
  createLogger,
  dataPaths,
  lazyLogFile,
  loadConfig,
  type DataPaths,
  type LineStream,
  type SkiffConfig,
} from '@skiff/config';
import type { Logger } from '@skiff/core';
import { openTemporal as openRuntimeTemporal, type TemporalSession } from '@skiff/runtime';

export interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  logLevel?: string;
  logFormat?: string;
}

export interface Context {
  config: SkiffConfig;
  paths: DataPaths;
  logger: Logger;
  json: boolean;
  /** The JSON log file of this run, when the logs go to a file (a terminal, SKIFF_LOG_FORMAT=auto). */
  logFile: string | null;
  /**
   * A logger like `logger` whose lines for a person (warnings, errors; or every JSON line when the
   * logs go to stderr) are written to `screen` instead: a progress bar's stream clears the bar first.
   */
  loggerFor(screen: LineStream): Logger;
  /** Human-readable line on stdout (suppressed with --json, where only the final object is printed). */
  say(line: string): void;
  /** The command's result: the last line of stdout with --json. */
  result(obj: unknown): void;
}

/** A path as a person would type it: relative to the current folder when it is below it. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The only place the CLI reads process.env: config is parsed once, flags win over env. */
export function createContext(opts: GlobalOptions, extra: Partial<SkiffConfig> = {}): Context {
  const config = loadConfig(process.env, {
    dataDir: opts.dataDir,
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    ...extra,
  });
  const json = Boolean(opts.json);
  const paths = dataPaths(config.dataDir);
  const base = { app: 'skiff' };
  const file =
    chooseLogSink(config.logFormat, process.stderr.isTTY === true) === 'file'
      ? lazyLogFile(paths.logs, 'skiff', (f) => process.stderr.write(`logs: ${displayPath(f)}\n`))
      : null;
  const loggerFor = (screen: LineStream): Logger =>
    file
      ? createLogger({ level: config.logLevel, base, destination: file, console: screen })
      : createLogger({ level: config.logLevel, base, destination: screen });
  return {
    config,
    paths,
    logger: loggerFor(process.stderr),
    json,
    logFile: file?.path ?? null,
    loggerFor,
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
