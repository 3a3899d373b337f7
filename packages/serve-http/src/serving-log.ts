import {
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import path from 'node:path';
import type { ServingRecord } from '@skiff/core';
import { jsonNumber, scoredItemsJson } from './json.js';

/** What an NDJSON log reports about its own health (for /readyz and /metrics). */
export interface NdjsonLogHealth {
  /** The last write or open error, while it lasts (cleared by the next successful write). */
  error: string | null;
  /** When the current fault started (ISO), null when healthy. */
  since: string | null;
  /** Records written to a file. */
  written: number;
  /** Records that could not be written (a failed write, or the queue was full while the disk was failing). */
  dropped: number;
  /** Write or open errors seen since start. */
  errors: number;
  /** Files removed by retention. */
  removedFiles: number;
}

/** An append-only NDJSON log written off the request path. */
export interface NdjsonLog<T> {
  /** Queues one record; never throws for an I/O problem (those are counted, see health()). */
  append(record: T): void;
  /** Records accepted but not yet handed to the file stream. */
  depth(): number;
  health(): NdjsonLogHealth;
  /** Writes everything queued (when the disk lets it) and closes the file. */
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
  /**
   * Records held while the file stream is slow or failing; beyond this, new records are dropped
   * and counted, so a stuck disk costs bounded memory.
   */
  maxQueued?: number;
  /** Retention: the oldest files of this log are removed while all of them together exceed this (bytes; 0 = no cap). */
  retainBytes?: number;
  /** Retention: files last written more than this many days ago are removed (0 = keep). */
  retainDays?: number;
  /** After an error, how long to wait before trying to open a file again (ms). */
  retryMs?: number;
  now?: () => Date;
  /** One record as one line of JSON (default JSON.stringify). */
  serialize?: (record: T) => string;
  /** Told once when a fault starts and once when it ends (for the process log). */
  onFault?: (error: Error | null) => void;
}

/**
 * Requests only push onto an in-memory queue; a timer serialises the queue in one write, so the
 * hot path never waits for the disk. Files roll over by day and by size; close() flushes.
 *
 * I/O never throws into the process: a missing folder is created again, a failing write (full
 * disk, removed folder, permissions) is counted, its records are counted as dropped, and the log
 * tries a fresh file after `retryMs`. Only one write is in flight at a time (backpressure): records
 * wait in the queue, up to `maxQueued`.
 */
export function createNdjsonLog<T>(options: CreateNdjsonLogOptions<T>): NdjsonLog<T> {
  const {
    dir,
    prefix,
    flushMs = 50,
    flushRecords = 512,
    maxBytes = 64 * 1024 * 1024,
    maxQueued = 100_000,
    retainBytes = 0,
    retainDays = 0,
    retryMs = 1_000,
    now = () => new Date(),
    serialize = JSON.stringify,
    onFault,
  } = options;
  let queue: T[] = [];
  let stream: WriteStream | null = null;
  let file = '';
  let day = '';
  let bytes = 0;
  let part = 0;
  let closed = false;
  /** A write handed to the stream and not yet confirmed. */
  let writing: Promise<void> | null = null;
  let retryAt = 0;
  const state: NdjsonLogHealth = { error: null, since: null, written: 0, dropped: 0, errors: 0, removedFiles: 0 };

  const fault = (e: Error) => {
    state.errors++;
    if (state.error === null) {
      state.since = now().toISOString();
      onFault?.(e);
    }
    state.error = `${(e as NodeJS.ErrnoException).code ?? 'ERROR'}: ${e.message}`;
    retryAt = Date.now() + retryMs;
    // The next write goes to a fresh file: a torn line stays at the end of the failed one.
    const s = stream;
    stream = null;
    s?.destroy();
  };
  const healthy = () => {
    if (state.error === null) return;
    state.error = null;
    state.since = null;
    onFault?.(null);
  };

  const retention = () => {
    if (!retainBytes && !retainDays) return;
    try {
      const files = readdirSync(dir)
        .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.ndjson'))
        .map((f) => {
          const st = statSync(path.join(dir, f), { throwIfNoEntry: false });
          return { f, size: st?.size ?? 0, mtime: st?.mtimeMs ?? 0 };
        })
        .sort((a, b) => a.mtime - b.mtime || a.f.localeCompare(b.f));
      let total = files.reduce((n, x) => n + x.size, 0);
      const cutoff = retainDays ? now().getTime() - retainDays * 86_400_000 : -Infinity;
      for (const x of files) {
        if (path.join(dir, x.f) === file) break;
        if (x.mtime >= cutoff && (!retainBytes || total <= retainBytes)) break;
        rmSync(path.join(dir, x.f), { force: true });
        total -= x.size;
        state.removedFiles++;
      }
    } catch (e) {
      fault(e as Error);
    }
  };

  const target = (): WriteStream | null => {
    const d = now().toISOString().slice(0, 10).replace(/-/g, '');
    // A log folder removed under a running server: the open file would swallow every record.
    if (stream && d === day && bytes < maxBytes && existsSync(file)) return stream;
    stream?.end();
    stream = null;
    if (d !== day) part = 0;
    day = d;
    part++;
    bytes = 0;
    try {
      mkdirSync(dir, { recursive: true });
      file = path.join(dir, `${prefix}-${d}-${process.pid}-${String(part).padStart(3, '0')}.ndjson`);
      // Opened synchronously so an open error is an exception here, not an 'error' event later.
      const fd = openSync(file, 'a');
      const s = createWriteStream('', { fd, flags: 'a' });
      s.on('error', (e) => {
        if (stream === s) fault(e);
      });
      stream = s;
    } catch (e) {
      fault(e as Error);
      return null;
    }
    retention();
    return stream;
  };

  const flush = () => {
    if (queue.length === 0 || writing || Date.now() < retryAt) return;
    const s = target();
    if (!s) return;
    const records = queue;
    queue = [];
    let block = '';
    for (const r of records) block += serialize(r) + '\n';
    bytes += Buffer.byteLength(block);
    writing = new Promise<void>((resolve) => {
      s.write(block, (e) => {
        writing = null;
        if (e) {
          state.dropped += records.length;
          if (stream === s) fault(e);
        } else {
          state.written += records.length;
          healthy();
        }
        resolve();
        // Records that arrived during the write go next, without waiting for the timer.
        if (queue.length >= flushRecords) flush();
      });
    });
  };
  const timer = setInterval(flush, flushMs);
  timer.unref();

  return {
    append(record) {
      if (closed) throw new Error(`${prefix} log is closed`);
      if (queue.length >= maxQueued) {
        state.dropped++;
        return;
      }
      queue.push(record);
      if (queue.length >= flushRecords) flush();
    },
    depth: () => queue.length,
    health: () => ({ ...state }),
    async close() {
      closed = true;
      clearInterval(timer);
      await writing;
      retryAt = 0;
      flush();
      await writing;
      // Whatever the disk would not take is lost now: count it.
      state.dropped += queue.length;
      queue = [];
      const s = stream;
      stream = null;
      if (!s || s.destroyed) return;
      await new Promise<void>((resolve) => {
        s.once('error', () => resolve());
        s.end(() => resolve());
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
export function createNdjsonServingLog(
  dir: string,
  now?: () => Date,
  options: Partial<Omit<CreateNdjsonLogOptions<ServingRecord>, 'dir' | 'prefix' | 'serialize' | 'now'>> = {},
): ServingLog {
  return createNdjsonLog<ServingRecord>({
    ...options,
    dir,
    prefix: 'serving',
    serialize: servingRecordJson,
    ...(now ? { now } : {}),
  });
}
