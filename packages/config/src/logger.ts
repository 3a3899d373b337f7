import { mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  levels,
  multistream,
  pino,
  type DestinationStream,
  type Level,
  type Logger as PinoLogger,
  type StreamEntry,
} from 'pino';
import type { Logger } from '@skiff/core';

/** A stream lines can be written to (stderr, a file, a progress bar that clears itself first). */
export interface LineStream {
  write(chunk: string): unknown;
}

export interface CreateLoggerOptions {
  level?: string;
  /** Fields put on every line (app, runId, stage, modelVersion …). */
  base?: Record<string, unknown>;
  /** Where JSON lines go; defaults to stderr so that stdout stays free for `--json` output. */
  destination?: LineStream;
  /**
   * Also show warnings and errors to a person, as one short plain line each (used when the JSON
   * lines go to a file and stderr is a terminal).
   */
  console?: LineStream;
}

/** Keys pino writes itself: a field with one of these names would repeat the key on the line. */
const RESERVED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function fieldsOf(
  bindings: Record<string, unknown>,
  fields: Record<string, unknown> | undefined,
): Record<string, unknown> {
  // One object per line, later keys replacing earlier ones: a child's `stage` replaces its
  // parent's, so that no line carries a key twice (which strict JSON tools reject).
  const merged: Record<string, unknown> = { ...bindings };
  for (const [k, v] of Object.entries(fields ?? {})) merged[RESERVED.has(k) ? `${k}_` : k] = v;
  return merged;
}

function wrap(p: PinoLogger, bindings: Record<string, unknown>): Logger {
  return {
    debug: (msg, fields) => p.debug(fieldsOf(bindings, fields), msg),
    info: (msg, fields) => p.info(fieldsOf(bindings, fields), msg),
    warn: (msg, fields) => p.warn(fieldsOf(bindings, fields), msg),
    error: (msg, fields) => p.error(fieldsOf(bindings, fields), msg),
    child: (fields) => wrap(p, fieldsOf(bindings, fields)),
  };
}

const LEVEL_NAMES: Record<number, string> = { 40: 'warning', 50: 'error', 60: 'fatal' };
const QUIET_KEYS = new Set(['level', 'time', 'msg', 'app', 'component']);

/** `warning: <message> (key=value, …)`: one log line as a person reads it. */
export function formatConsoleLine(jsonLine: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.trimEnd();
  }
  const level = LEVEL_NAMES[Number(entry['level'])] ?? 'log';
  const extra = Object.entries(entry)
    .filter(([k]) => !QUIET_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  const text = `${level}: ${String(entry['msg'] ?? '')}${extra ? ` (${extra})` : ''}`;
  return text.length > 400 ? `${text.slice(0, 397)}…` : text;
}

/** Structured JSON logger (pino) implementing core's Logger port. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const { level = 'info', base = {}, destination = process.stderr, console } = options;
  if (!console || level === 'silent') return wrap(pino({ level, base: null }, destination as DestinationStream), base);
  const human: LineStream = { write: (line: string) => console.write(formatConsoleLine(line) + '\n') };
  // A person sees warnings and errors, or fewer when the level asks for fewer.
  const consoleLevel = level !== 'silent' && levels.values[level]! > levels.values['warn']! ? level : 'warn';
  const streams: StreamEntry[] = [
    { level: level as Level, stream: destination as DestinationStream },
    { level: consoleLevel as Level, stream: human as DestinationStream },
  ];
  return wrap(pino({ level, base: null }, multistream(streams)), base);
}

/**
 * Where a command's JSON log lines go: `json` → stderr; `auto` → stderr when it is not a terminal
 * (CI, pipes, log collectors), else a file under `<dataDir>/logs/` so that a person at a terminal
 * sees the command's own lines, progress bars and warnings instead of JSON.
 */
export function chooseLogSink(format: 'auto' | 'json', stderrIsTTY: boolean): 'stderr' | 'file' {
  return format === 'json' || !stderrIsTTY ? 'stderr' : 'file';
}

/**
 * The log file of one command run, `<logDir>/<command>-<UTC time>-<pid>.ndjson`, created on the
 * first line written (a command that logs nothing leaves no file); `onOpen` is told its path then.
 */
export function lazyLogFile(
  logDir: string,
  command: string,
  onOpen: (file: string) => void,
  now = new Date(),
): LineStream & { path: string } {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.join(logDir, `${command}-${stamp}-${process.pid}.ndjson`);
  let fd: number | undefined;
  return {
    path: file,
    write(chunk: string) {
      if (fd === undefined) {
        mkdirSync(logDir, { recursive: true });
        fd = openSync(file, 'a');
        onOpen(file);
      }
      // Synchronous, so that no line is lost when the process exits right after an error.
      writeSync(fd, chunk);
      return true;
    },
  };
}
