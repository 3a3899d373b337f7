/**
 * CSV reader for drift frames: a header line, ',' separator, RFC 4180 quoting (the CLI's
 * `--reference/--current` files and the bench). A column is numeric when every non-empty value
 * parses as a finite number; missing numeric values become NaN (dropped by the drift cleaning like
 * null), missing strings null. Text with a quote in it is split line by line with node-io's
 * `splitCsvLine`, the one CSV rule of skiff; text without one, the common case, takes the fast path:
 *
 * Column kinds are guessed from the first rows, then one pass over the text with charCodeAt fills a
 * Float64Array per numeric column; a numeric guess that meets a non-number restarts the pass with
 * that column as text (rare). Decimal fields with ≤ 15 digits are parsed as integer mantissa /
 * 10^k, which is exact (both operands are exact doubles and IEEE division is correctly rounded:
 * the classic fast path); anything else goes through Number(). Repeated category strings are
 * shared rather than sliced again.
 */
import { readFile } from 'node:fs/promises';
import { splitCsvLine } from '@skiff/node-io';
import type { ColumnValues, RawValue } from './drift.js';

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const COMMA = 44;
const LF = 10;
const CR = 13;

export interface CsvFrame {
  /** Numeric columns as Float64Array (NaN = missing), categorical ones as string | null arrays. */
  frame: Record<string, ColumnValues>;
  columns: Array<{ name: string; type: 'num' | 'cat' }>;
}

// Scanner state shared by the field readers (module-level, so no allocation per field).
let scanPos = 0;
let scanValue = 0;

/** Reads a numeric field at scanPos; false when it is not a finite number. Empty → NaN. */
function readNumber(text: string, len: number): boolean {
  const start = scanPos;
  let pos = start;
  let mant = 0;
  let digits = 0;
  let frac = -1;
  let neg = false;
  let fast = true;
  let ch = pos < len ? text.charCodeAt(pos) : LF;
  if (ch === 45) {
    neg = true;
    pos++;
  }
  for (; pos < len; pos++) {
    ch = text.charCodeAt(pos);
    if (ch >= 48 && ch <= 57) {
      mant = mant * 10 + (ch - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (ch === 46 && frac < 0) frac = 0;
    else if (ch === COMMA || ch === LF || ch === CR) break;
    else {
      fast = false;
      while (pos < len && (ch = text.charCodeAt(pos)) !== COMMA && ch !== LF && ch !== CR) pos++;
      break;
    }
  }
  scanPos = pos;
  if (pos === start) {
    scanValue = NaN;
    return true;
  }
  if (fast && digits > 0 && digits <= 15) {
    const v = frac > 0 ? mant / (POW10[frac] as number) : mant;
    scanValue = neg ? -v : v;
    return true;
  }
  scanValue = Number(text.slice(start, pos));
  return Number.isFinite(scanValue);
}

/** Reads a text field at scanPos; null when empty. */
function readString(text: string, len: number, cache: Map<number, string>): string | null {
  const start = scanPos;
  let pos = start;
  let h = 0x811c9dc5;
  let ch = 0;
  while (pos < len && (ch = text.charCodeAt(pos)) !== COMMA && ch !== LF && ch !== CR) {
    h = Math.imul(h ^ ch, 16777619);
    pos++;
  }
  scanPos = pos;
  if (pos === start) return null;
  h &= 0x3fffffff; // small-integer Map key (no boxing)
  const cand = cache.get(h);
  if (cand !== undefined && cand.length === pos - start && text.startsWith(cand, start)) return cand;
  const v = text.slice(start, pos);
  if (cand === undefined && cache.size < 65536) cache.set(h, v);
  return v;
}

class NotNumeric extends Error {
  constructor(readonly column: number) {
    super('not numeric');
  }
}

function parseRows(
  text: string,
  from: number,
  numeric: readonly boolean[],
  rowsCap: number,
): { nums: Array<Float64Array | null>; strs: Array<RawValue[] | null>; rows: number } {
  const len = text.length;
  const nc = numeric.length;
  const nums = numeric.map((n) => (n ? new Float64Array(rowsCap) : null));
  const strs = numeric.map((n) => (n ? null : ([] as RawValue[])));
  const caches = numeric.map(() => new Map<number, string>());
  let row = 0;
  scanPos = from;
  while (scanPos < len) {
    const c0 = text.charCodeAt(scanPos);
    if (c0 === LF || c0 === CR) {
      scanPos++;
      continue;
    }
    let col = 0;
    for (;;) {
      if (col < nc) {
        const f = nums[col];
        if (f) {
          if (!readNumber(text, len)) throw new NotNumeric(col);
          f[row] = scanValue;
        } else (strs[col] as RawValue[]).push(readString(text, len, caches[col] as Map<number, string>));
      } else readString(text, len, caches[0] as Map<number, string>); // extra field: ignored
      col++;
      if (scanPos >= len) break;
      const ch = text.charCodeAt(scanPos);
      if (ch === COMMA) {
        scanPos++;
        continue;
      }
      if (ch === CR) scanPos++;
      if (scanPos < len && text.charCodeAt(scanPos) === LF) scanPos++;
      break;
    }
    for (; col < nc; col++) {
      const f = nums[col];
      if (f) f[row] = NaN;
      else (strs[col] as RawValue[]).push(null);
    }
    row++;
  }
  return { nums, strs, rows: row };
}

/** The quoted case: every line through `splitCsvLine`, the same column rules as the fast path. */
function parseQuotedCsvFrame(text: string): CsvFrame {
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '');
  if (header.length === 1 && header[0] === '') return { frame: {}, columns: [] };
  const rows = lines
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => splitCsvLine(l));
  const frame: Record<string, ColumnValues> = {};
  const columns: CsvFrame['columns'] = [];
  header.forEach((h, c) => {
    const cells = rows.map((r) => r[c] ?? '');
    const numeric = cells.every((v) => v === '' || Number.isFinite(Number(v)));
    frame[h] = numeric
      ? Float64Array.from(cells, (v) => (v === '' ? NaN : Number(v)))
      : cells.map((v) => (v === '' ? null : v));
    columns.push({ name: h, type: numeric ? 'num' : 'cat' });
  });
  return { frame, columns };
}

export function parseCsvFrame(text: string): CsvFrame {
  if (text.includes('"')) return parseQuotedCsvFrame(text);
  const len = text.length;
  let eol = text.indexOf('\n');
  if (eol < 0) eol = len;
  const header = text.slice(0, eol).replace(/\r$/, '').split(',');
  if (header.length === 1 && header[0] === '') return { frame: {}, columns: [] };
  let lines = 1;
  for (let p = text.indexOf('\n', eol + 1); p >= 0; p = text.indexOf('\n', p + 1)) lines++;

  // Guess the kinds from the first 1000 rows (a wrong guess only costs a restart).
  const numeric = header.map(() => true);
  const sample = text
    .slice(eol + 1, eol + 1 + 200_000)
    .split(/\r?\n/)
    .slice(0, 1000);
  for (const line of sample)
    line.split(',').forEach((v, c) => {
      if (c < numeric.length && v !== '' && !Number.isFinite(Number(v))) numeric[c] = false;
    });

  for (;;) {
    try {
      const { nums, strs, rows } = parseRows(text, eol + 1, numeric, lines);
      const frame: Record<string, ColumnValues> = {};
      const columns: CsvFrame['columns'] = [];
      header.forEach((h, c) => {
        const f = nums[c];
        frame[h] = f ? f.slice(0, rows) : (strs[c] as RawValue[]);
        columns.push({ name: h, type: f ? 'num' : 'cat' });
      });
      return { frame, columns };
    } catch (e) {
      if (!(e instanceof NotNumeric)) throw e;
      numeric[e.column] = false;
    }
  }
}

export async function readCsvFrame(file: string): Promise<CsvFrame> {
  return parseCsvFrame(await readFile(file, 'utf8'));
}
