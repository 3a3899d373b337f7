import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

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

export interface ServingLog {
  append(r: ServingRecord): void;
  close(): Promise<void>;
}

/**
 * Appends serving records to one NDJSON file per UTC day and process. Writes are buffered by
 * the stream (no fsync per request); close() flushes.
 */
export function createNdjsonServingLog(dir: string, now: () => Date = () => new Date()): ServingLog {
  mkdirSync(dir, { recursive: true });
  let day = '';
  let stream: WriteStream | null = null;
  const open = () => {
    const d = now().toISOString().slice(0, 10).replace(/-/g, '');
    if (d !== day || !stream) {
      stream?.end();
      day = d;
      stream = createWriteStream(path.join(dir, `serving-${d}-${process.pid}.ndjson`), { flags: 'a' });
    }
    return stream;
  };
  return {
    append(r) {
      open().write(JSON.stringify(r) + '\n');
    },
    close() {
      return new Promise((resolve) => {
        if (!stream) return resolve();
        stream.end(() => resolve());
        stream = null;
      });
    },
  };
}
