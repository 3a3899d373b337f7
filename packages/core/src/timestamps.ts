/**
 * The one timestamp rule of skiff (docs/design.md, Raw events): the warehouse's readers and the
 * monitor (serving records, online events) both read times with `parseTimestamp`, so a time that
 * one of them refuses, the other refuses too (2026-02-30 is refused, never rolled over).
 */

const EPOCH_RE = /^\d+(\.\d+)?$/;
// ISO-8601 date, optional time (minutes, seconds, fraction), optional offset. The warehouse's SQL load
// path gates its TIMESTAMPTZ cast with the same pattern.
export const ISO_TIMESTAMP_PATTERN =
  '\\d{4}-\\d{2}-\\d{2}([T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?';
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
/** Date's own limit (±8.64e15 ms); anything beyond is not a usable timestamp. */
const MAX_MS = 8.64e15;

function fromEpoch(n: number): number | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  // Numbers below 1e11 are seconds (1e11 s is the year 5138; 1e11 ms is 1973), the rest milliseconds.
  const ms = Math.round(n < 1e11 ? n * 1000 : n);
  return ms < MAX_MS ? ms : undefined;
}

function fromIso(s: string): number | undefined {
  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', off] = m;
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const [Y, M, D, H, Mi, S] = [y, mo, d, h, mi, sec].map(Number) as [number, number, number, number, number, number];
  if (Y < 1970 || M < 1 || M > 12 || D < 1) return undefined;
  const t = Date.UTC(Y, M - 1, D, H, Mi, S, ms);
  if (new Date(t).getUTCDate() !== D) return undefined; // 2026-02-30 and the like
  let offsetMin = 0;
  if (off && off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  const out = t - offsetMin * 60_000;
  return out > 0 && out < MAX_MS ? out : undefined;
}

/**
 * Epoch milliseconds (UTC) of a timestamp, or undefined when it is not one. Timestamps arrive as
 * ISO-8601 strings (no offset = UTC; the fraction is truncated to ms) or as epoch seconds /
 * milliseconds, as numbers or digit strings. Anything else is refused.
 */
export function parseTimestamp(value: string | number): number | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (EPOCH_RE.test(value)) return fromEpoch(Number(value));
  return fromIso(value);
}

/** `parseTimestamp` for a value of unknown type (a JSON field): null when it is not a timestamp. */
export function parseTimestampMs(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  return parseTimestamp(value) ?? null;
}
