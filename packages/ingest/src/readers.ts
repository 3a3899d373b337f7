import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { RawEventSchema, SkiffError, type RawEvent } from '@skiff/core';

/** One line of a raw file after parsing: either an event or the reason it was refused. */
export type ParsedLine =
  | { line: number; ok: true; event: NormalisedEvent }
  | { line: number; ok: false; raw: string; reason: string };

/** A raw event with its timestamp resolved to epoch milliseconds. */
export interface NormalisedEvent extends Omit<RawEvent, 'timestamp'> {
  tsMs: number;
}

export type RawFormat = 'ndjson' | 'csv';

/** Picks the reader from the extension; `auto` is the only mode that guesses. */
export function detectFormat(file: string, requested = 'auto'): RawFormat {
  if (requested !== 'auto') {
    if (requested === 'ndjson' || requested === 'csv') return requested;
    throw new SkiffError('BAD_INPUT', `format "${requested}" is not supported yet (supported: auto, ndjson, csv)`);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.ndjson' || ext === '.jsonl' || ext === '.json') return 'ndjson';
  if (ext === '.csv') return 'csv';
  throw new SkiffError('BAD_INPUT', `cannot detect the format of ${file} from its extension (${ext || 'none'})`);
}

/**
 * Timestamps arrive as ISO-8601 strings or epoch seconds / milliseconds. Numbers below 1e11 are
 * seconds (1e11 s is the year 5138; 1e11 ms is 1973), everything else milliseconds.
 */
export function parseTimestamp(value: string | number): number | undefined {
  if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function normalise(obj: unknown): { ok: true; event: NormalisedEvent } | { ok: false; reason: string } {
  const parsed = RawEventSchema.safeParse(obj);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, reason: `schema: ${i ? `${i.path.join('.') || '(row)'} ${i.message}` : 'invalid'}` };
  }
  const { timestamp, ...rest } = parsed.data;
  const tsMs = parseTimestamp(timestamp);
  if (tsMs === undefined) return { ok: false, reason: `schema: timestamp "${String(timestamp)}" is not ISO-8601 or epoch` };
  if ((rest.event_type !== 'search') && !rest.item_id) return { ok: false, reason: `schema: item_id is required for ${rest.event_type} events` };
  return { ok: true, event: { ...rest, tsMs } };
}

/** Splits one CSV line (RFC 4180 quoting). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const NUMERIC_CSV = new Set(['price']);

/** Streams a raw file line by line; never throws on a bad row (it becomes a refused line). */
export async function* readRawFile(file: string, format: RawFormat): AsyncGenerator<ParsedLine> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let header: string[] | undefined;
  for await (const text of rl) {
    lineNo++;
    if (text.trim() === '') continue;
    if (format === 'csv' && header === undefined) {
      header = splitCsvLine(text).map((h) => h.trim());
      continue;
    }
    let obj: unknown;
    if (format === 'ndjson') {
      try {
        obj = JSON.parse(text);
      } catch (e) {
        yield { line: lineNo, ok: false, raw: text, reason: `json: ${(e as Error).message}` };
        continue;
      }
    } else {
      const cells = splitCsvLine(text);
      if (cells.length !== header!.length) {
        yield { line: lineNo, ok: false, raw: text, reason: `csv: expected ${header!.length} fields, got ${cells.length}` };
        continue;
      }
      const row: Record<string, unknown> = {};
      header!.forEach((h, i) => {
        const v = cells[i] ?? '';
        if (v === '') row[h] = null;
        else row[h] = NUMERIC_CSV.has(h) ? Number(v) : v;
      });
      obj = row;
    }
    const r = normalise(obj);
    yield r.ok ? { line: lineNo, ok: true, event: r.event } : { line: lineNo, ok: false, raw: text, reason: r.reason };
  }
}
