import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from '@skiff/core';

export interface CreateLoggerOptions {
  level?: string;
  /** Fields put on every line (runId, stage, modelVersion …). */
  base?: Record<string, unknown>;
  /** Where lines go; defaults to stderr so that stdout stays free for `--json` output. */
  destination?: NodeJS.WritableStream;
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (fields) => wrap(p.child(fields)),
  };
}

/** Structured JSON logger (pino) implementing core's Logger port. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const { level = 'info', base = {}, destination = process.stderr } = options;
  return wrap(pino({ level, base }, destination as DestinationStream));
}
