/** Times of serving records and online events, read by both the drift features and online quality. */

const EPOCH_RE = /^\d+(\.\d+)?$/;
const HAS_OFFSET_RE = /(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * Timestamp in ms: ISO-8601 (no offset = UTC, like the warehouse contract) or epoch seconds
 * (< 1e11) / milliseconds as numbers or digit strings. null when unusable.
 */
export function parseTimestampMs(v: unknown): number | null {
  let ms: number;
  if (typeof v === 'number' || (typeof v === 'string' && EPOCH_RE.test(v))) {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) return null;
    ms = n < 1e11 ? n * 1000 : n;
  } else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const s = v.length > 10 && !HAS_OFFSET_RE.test(v) ? `${v.replace(' ', 'T')}Z` : v.replace(' ', 'T');
    ms = Date.parse(s);
  } else return null;
  return Number.isFinite(ms) ? ms : null;
}
