import { EVENT_TYPES, type EventType } from '@skiff/core';

/**
 * The raw event contract (docs/design.md, Raw events) as one hand-written validator, so that every reader
 * refuses a row for the same reason, in the same words, as the SQL validation of the DuckDB
 * load path (`fast-load.ts`). `readers.test.ts` checks it against core's `RawEventSchema`.
 */

/** Why a row went to quarantine; the text of the reason always starts with `<code>: `. */
export type QuarantineCode = 'json' | 'missing' | 'type' | 'value' | 'timestamp' | 'oversize' | 'utf8' | 'csv';
export const QUARANTINE_CODES: readonly QuarantineCode[] = [
  'json',
  'missing',
  'type',
  'value',
  'timestamp',
  'oversize',
  'utf8',
  'csv',
];

/** Lines longer than this (in bytes, without the newline) are quarantined unread. */
export const MAX_LINE_BYTES = 64 * 1024;
/** How much of a refused line is kept in `quarantine.raw`. */
export const MAX_RAW_CHARS = 10_000;

/** A raw event after validation; `session_id` is null when the row is to be sessionized by `user_id`. */
export interface NormalisedEvent {
  session_id: string | null;
  event_type: EventType;
  item_id: string | null;
  /** Epoch milliseconds, UTC. */
  tsMs: number;
  user_id: string | null;
  price: number | null;
  category: string | null;
  query: string | null;
}

export interface Refusal {
  code: QuarantineCode;
  reason: string;
}

export type Validated = { ok: true; event: NormalisedEvent } | ({ ok: false } & Refusal);

export const refuse = (code: QuarantineCode, detail: string): { ok: false } & Refusal => ({
  ok: false,
  code,
  reason: `${code}: ${detail}`,
});

/** The value shown inside a reason: at most 50 characters. */
export const shown = (v: string) => v.slice(0, 50);

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const EPOCH_RE = /^\d+(\.\d+)?$/;
// ISO-8601 date, optional time (minutes, seconds, fraction), optional offset. The SQL path gates its
// TIMESTAMPTZ cast with the same pattern (see fast-load.ts).
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
 * Timestamps arrive as ISO-8601 strings (no offset = UTC; the fraction is truncated to ms) or as
 * epoch seconds / milliseconds, as numbers or digit strings. Anything else is refused.
 */
export function parseTimestamp(value: string | number): number | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (EPOCH_RE.test(value)) return fromEpoch(Number(value));
  return fromIso(value);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Validates one parsed row against the raw contract. The order of the checks is part of the
 * contract: the first failing one gives the reason (the SQL path checks in the same order).
 */
export function validateRawObject(obj: unknown): Validated {
  if (!isRecord(obj)) return refuse('json', 'not a JSON object');
  const { session_id, event_type, item_id, timestamp, user_id, price, category, query } = obj;
  if (!absent(session_id) && typeof session_id !== 'string') return refuse('type', 'session_id must be a string');
  if (absent(event_type)) return refuse('missing', 'event_type');
  if (typeof event_type !== 'string') return refuse('type', 'event_type must be a string');
  if (!EVENT_TYPE_SET.has(event_type))
    return refuse('value', `event_type "${shown(event_type)}" is not one of ${EVENT_TYPES.join(', ')}`);
  if (!absent(item_id) && typeof item_id !== 'string') return refuse('type', 'item_id must be a string');
  if (absent(timestamp)) return refuse('missing', 'timestamp');
  if (typeof timestamp !== 'string' && typeof timestamp !== 'number')
    return refuse('type', 'timestamp must be a string or a number');
  for (const [k, v] of [
    ['user_id', user_id],
    ['category', category],
    ['query', query],
  ] as const)
    if (!absent(v) && typeof v !== 'string') return refuse('type', `${k} must be a string`);
  if (price !== undefined && price !== null && typeof price !== 'number')
    return refuse('type', 'price must be a number');
  if (absent(session_id) && absent(user_id)) return refuse('missing', 'session_id (and no user_id to sessionize by)');
  if (event_type !== 'search' && absent(item_id))
    return refuse('missing', `item_id is required for ${event_type} events`);
  const tsMs = parseTimestamp(timestamp);
  if (tsMs === undefined) return refuse('timestamp', `"${shown(String(timestamp))}" is not ISO-8601 or epoch s/ms`);
  const str = (v: unknown) => (absent(v) ? null : (v as string));
  return {
    ok: true,
    event: {
      session_id: str(session_id),
      event_type: event_type as EventType,
      item_id: str(item_id),
      tsMs,
      user_id: str(user_id),
      price: typeof price === 'number' ? price : null,
      category: str(category),
      query: str(query),
    },
  };
}
