import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { jsonNumber, scoredItemsJson } from './json.js';

/** One served request, as written to data/raw/serving/*.ndjson (read back by the monitor). */
export interface ServingRecord {
  ts: string;
  requestId: string;
  sessionId: string | null;
  items: string[];
  k: number;
  unknownItems: number;
  recommended: Array<{ itemId: string; score: number }>;
  model: { name: string; version: string };
  latencyMs: number;
}

/** An append-only NDJSON log written off the request path. */
export interface NdjsonLog<T> {
  append(record: T): void;
  /** Records accepted but not yet handed to the file stream. */
  depth(): number;
  /** Writes everything queued and closes the file. */
  close(): Promise<void>;
}
export type ServingLog = NdjsonLog<ServingRecord>;

export interface CreateNdjsonLogOptions<T = unknown> {
  dir: string;
  prefix: string;
  /** Flush at least this often (ms) … */
  flushMs?: number;
  /** … or as soon as this many records are queued. */
  flushRecords?: number;
  /** Start a new file past this size (bytes); files also roll over every UTC day. */
  maxBytes?: number;
  now?: () => Date;
  /** One record as one line of JSON (default JSON.stringify). */
  serialize?: (record: T) => string;
}

/**
 * Requests only push onto an in-memory queue; a timer serialises the queue in one write, so the
 * hot path never waits for the disk. Files roll over by day and by size; close() flushes.
 */
export function createNdjsonLog<T>(options: CreateNdjsonLogOptions<T>): NdjsonLog<T> {
  const { dir, prefix, flushMs = 50, flushRecords = 512, maxBytes = 64 * 1024 * 1024, now = () => new Date(), serialize = JSON.stringify } = options;
  mkdirSync(dir, { recursive: true });
  let queue: T[] = [];
  let stream: WriteStream | null = null;
  let day = '';
  let bytes = 0;
  let part = 0;
  let closed = false;

  const target = () => {
    const d = now().toISOString().slice(0, 10).replace(/-/g, '');
    if (stream && d === day && bytes < maxBytes) return stream;
    stream?.end();
    if (d !== day) part = 0;
    day = d;
    part++;
    bytes = 0;
    stream = createWriteStream(path.join(dir, `${prefix}-${d}-${process.pid}-${String(part).padStart(3, '0')}.ndjson`), { flags: 'a' });
    return stream;
  };
  const flush = () => {
    if (queue.length === 0) return;
    let block = '';
    for (const r of queue) block += serialize(r) + '\n';
    queue = [];
    target().write(block);
    bytes += Buffer.byteLength(block);
  };
  const timer = setInterval(flush, flushMs);
  timer.unref();

  return {
    append(record) {
      if (closed) throw new Error(`${prefix} log is closed`);
      queue.push(record);
      if (queue.length >= flushRecords) flush();
    },
    depth: () => queue.length,
    close() {
      closed = true;
      clearInterval(timer);
      flush();
      return new Promise((resolve) => {
        if (!stream) return resolve();
        stream.end(() => resolve());
        stream = null;
      });
    },
  };
}

/**
 * `JSON.stringify(record)` for a serving record, written by hand: the log serialises one record
 * per answered request on the event loop thread, and half of that cost was the generic
 * stringify of the recommendation list (see json.ts).
 */
export function servingRecordJson(r: ServingRecord): string {
  return (
    `{"ts":${JSON.stringify(r.ts)},"requestId":${JSON.stringify(r.requestId)},"sessionId":${JSON.stringify(r.sessionId)},` +
    `"items":${JSON.stringify(r.items)},"k":${jsonNumber(r.k)},"unknownItems":${jsonNumber(r.unknownItems)},"recommended":${scoredItemsJson(r.recommended)},` +
    `"model":{"name":${JSON.stringify(r.model.name)},"version":${JSON.stringify(r.model.version)}},"latencyMs":${jsonNumber(r.latencyMs)}}`
  );
}

/** The serving log: one line per answered recommendation request. */
export function createNdjsonServingLog(dir: string, now?: () => Date): ServingLog {
  return createNdjsonLog<ServingRecord>({ dir, prefix: 'serving', serialize: servingRecordJson, ...(now ? { now } : {}) });
}
