import { EVENT_TYPES, parseTimestamp, type EventType } from '@skiff/core';

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
