/**
 * Online quality from logged follow-up events, and prediction-drift descriptors of the served lists.
 *
 * Target of a serving record: the event that names its requestId, else the first event of the same
 * session (with an item) strictly after the record's timestamp, taken from the raw event logs the serving app writes on `POST /v1/events`
 * (`{ session_id, event_type, item_id, timestamp }`, NDJSON under data/raw/online/events-*.ndjson).
 */
import {
  isItemEvent,
  parseTimestampMs,
  type Logger,
  type OnlineQuality,
  type PredictionDescriptors,
} from '@skiff/core';
import { ndjsonFiles, ndjsonLines } from '@skiff/node-io';
import type { ServingRow } from './features.js';

export type { OnlineQuality, PredictionDescriptors } from '@skiff/core';

/**
 * Per-session events with an item, sorted by time. `byRequest`: the item of the first event that
 * names the recommendation it followed (`request_id`), for exact attribution.
 */
export type SessionEvents = Map<string, { times: number[]; items: string[]; byRequest?: Map<string, string> }>;

/** Reads every `*.ndjson` under `dir` (raw event contract); bad lines are counted and logged, never fatal. */
export async function readOnlineEvents(
  dir: string,
  logger: Logger,
): Promise<{ events: SessionEvents; files: number; lines: number }> {
  const files = await ndjsonFiles(dir);
  const raw = new Map<string, Array<{ t: number; item: string; n: number; requestId: string | null }>>();
  let bad = 0;
  let n = 0;
  for (const f of files) {
    for await (const line of ndjsonLines(f)) {
      try {
        const e = JSON.parse(line) as {
          session_id?: unknown;
          event_type?: unknown;
          item_id?: unknown;
          timestamp?: unknown;
          request_id?: unknown;
        };
        const t = parseTimestampMs(e.timestamp);
        if (typeof e.session_id !== 'string' || t === null) throw new Error('shape');
        if (!isItemEvent(e.event_type, e.item_id)) continue; // e.g. search events: no item to hit
        let list = raw.get(e.session_id);
        if (!list) raw.set(e.session_id, (list = []));
        list.push({
          t,
          item: e.item_id as string,
          n: n++,
          requestId: typeof e.request_id === 'string' && e.request_id !== '' ? e.request_id : null,
        });
      } catch {
        bad++;
      }
    }
  }
  if (bad) logger.warn('online event lines skipped', { bad });
  const events: SessionEvents = new Map();
  for (const [s, list] of raw) {
    list.sort((a, b) => a.t - b.t || a.n - b.n);
    const byRequest = new Map<string, string>();
    for (const x of list) if (x.requestId && !byRequest.has(x.requestId)) byRequest.set(x.requestId, x.item);
    events.set(s, {
      times: list.map((x) => x.t),
      items: list.map((x) => x.item),
      ...(byRequest.size ? { byRequest } : {}),
    });
  }
  return { events, files: files.length, lines: n };
}

/** Index of the first time strictly greater than t (times sorted ascending). */
function firstAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * What the visitor clicked after this recommendation: the event that names the record's requestId
 * when there is one; else the next item event of the session strictly after the record's ts
 * (millisecond clocks make that rule miss a click logged in the same millisecond as the request,
 * which is why clients should send the requestId back). null when there is none.
 */
export function nextEventItem(row: ServingRow, events: SessionEvents): string | null {
  if (!row.sessionId) return null;
  const ev = events.get(row.sessionId);
  const attributed = row.requestId ? ev?.byRequest?.get(row.requestId) : undefined;
  if (attributed !== undefined) return attributed;
  const t = parseTimestampMs(row.ts);
  if (!ev || t === null) return null;
  const i = firstAfter(ev.times, t);
  return i < ev.items.length ? (ev.items[i] as string) : null;
}

/** Online quality row by row, so a monitor can stream the serving log (onlineQuality over an array is the same). */
export function createOnlineQualityAccumulator(events: SessionEvents): {
  add(row: ServingRow): void;
  result(): OnlineQuality;
} {
  let records = 0;
  let withNext = 0;
  let hr20 = 0;
  let mrr20 = 0;
  let hrK = 0;
  let mrrK = 0;
  return {
    add(r) {
      if (!r.sessionId) return;
      records++;
      const target = nextEventItem(r, events);
      if (target === null) return;
      withNext++;
      const idx = r.recommended.findIndex((x) => x.itemId === target);
      if (idx < 0) return;
      const rank = idx + 1;
      if (rank <= 20) {
        hr20++;
        mrr20 += 1 / rank;
      }
      const k = typeof r.k === 'number' && r.k > 0 ? r.k : r.recommended.length;
      if (rank <= k) {
        hrK++;
        mrrK += 1 / rank;
      }
    },
    result() {
      const avg = (x: number): number | null => (withNext ? x / withNext : null);
      return {
        records,
        withNextEvent: withNext,
        'hr@20': avg(hr20),
        'mrr@20': avg(mrr20),
        'hr@k': avg(hrK),
        'mrr@k': avg(mrrK),
      };
    },
  };
}

export function onlineQuality(rows: readonly ServingRow[], events: SessionEvents): OnlineQuality {
  const acc = createOnlineQualityAccumulator(events);
  for (const r of rows) acc.add(r);
  return acc.result();
}

/** Prediction descriptors row by row (memory: one count per distinct recommended item). */
export function createPredictionAccumulator(vocabularySize?: number | null): {
  add(row: ServingRow): void;
  result(): PredictionDescriptors;
} {
  const counts = new Map<string, number>();
  let slots = 0;
  return {
    add(r) {
      for (const x of r.recommended) {
        counts.set(x.itemId, (counts.get(x.itemId) ?? 0) + 1);
        slots++;
      }
    },
    result() {
      const top = [...counts.values()].sort((a, b) => b - a).slice(0, 10);
      const topSum = top.reduce((a, b) => a + b, 0);
      const vocab = vocabularySize && vocabularySize > 0 ? vocabularySize : null;
      return {
        coverage: vocab ? counts.size / vocab : counts.size,
        top10Share: slots ? topSum / slots : 0,
        distinctItems: counts.size,
        vocabularySize: vocab,
        slots,
      };
    },
  };
}

export function predictionDescriptors(
  rows: readonly ServingRow[],
  vocabularySize?: number | null,
): PredictionDescriptors {
  const acc = createPredictionAccumulator(vocabularySize);
  for (const r of rows) acc.add(r);
  return acc.result();
}
