import { mulberry32, type Recommender } from '@skiff/core';
import type { RawValue } from './drift.js';
import { parseTimestampMs, type ItemCatalog, type ServingRecordRead } from '@skiff/core';

/** Columns monitored in every run: the request side, always available from the serving log. */
export const MONITORED_COLUMNS = [
  { name: 'session_length', type: 'num' as const },
  { name: 'item_popularity_bucket', type: 'cat' as const },
];

/**
 * Columns added when the data allows: `category` needs the snapshot's items.json,
 * `hour_of_day` needs times in train.json and a current window of at least a day,
 * `rec_popularity_bucket` / `top_score` need the served model (`recommender`) for the reference side.
 */
export const OPTIONAL_MONITORED_COLUMNS = [
  { name: 'category', type: 'cat' as const },
  { name: 'hour_of_day', type: 'cat' as const },
  { name: 'rec_popularity_bucket', type: 'cat' as const },
  { name: 'top_score', type: 'num' as const },
];

export type Frame = Record<string, RawValue[]>;

/**
 * Popularity buckets from training counts: an item's rank decides its bucket, so the column is
 * comparable between reference and current even when the catalogue changes. Unknown items get
 * their own bucket, which is what makes a popularity shift visible.
 */
export function popularityBuckets(trainSessions: readonly string[][]): (item: string) => string {
  const counts = new Map<string, number>();
  for (const s of trainSessions) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const rank = new Map(ranked.map(([item], r) => [item, r / Math.max(1, ranked.length)]));
  return (item) => {
    const r = rank.get(item);
    if (r === undefined) return 'unknown';
    if (r < 0.01) return 'top1%';
    if (r < 0.1) return 'top10%';
    if (r < 0.5) return 'top50%';
    return 'tail';
  };
}

/**
 * Reference frame: `item_popularity_bucket` for every prefix of every training session, i.e. what a
 * request during that period would have looked like (bucket of the last item); `session_length` once
 * per session (`sessionLengths`).
 */
export function referenceFrame(train: readonly string[][], bucket: (item: string) => string, maxRows = 200_000): Frame {
  const pop: RawValue[] = [];
  const total = train.reduce((a, s) => a + Math.max(0, s.length - 1), 0);
  // Deterministic thinning keeps very large snapshots bounded without randomness.
  const step = Math.max(1, Math.ceil(total / maxRows));
  let n = 0;
  for (const s of train)
    for (let i = 1; i < s.length; i++) {
      if (n++ % step !== 0) continue;
      pop.push(bucket(s[i - 1]!));
    }
  return { session_length: referenceSessionLengths(train, maxRows), item_popularity_bucket: pop };
}

/**
 * `session_length` of the reference: one value per training session that a request could come from
 * (≥ 2 items), the longest prefix it would send (its length − 1), thinned deterministically beyond
 * `maxRows`. One row per session and not per request: a session of n items would otherwise give n − 1
 * rows (1, 2, …, n − 1), so that a handful of long sessions in a window moves the whole column — rows
 * that are not independent draws, which the tests (Evidently's among them) assume they are.
 */
export function referenceSessionLengths(train: readonly string[][], maxRows = 200_000): RawValue[] {
  const sessions = train.filter((s) => s.length > 1);
  const step = Math.max(1, Math.ceil(sessions.length / maxRows));
  const out: RawValue[] = [];
  for (let k = 0; k < sessions.length; k += step) out.push(sessions[k]!.length - 1);
  return out;
}

/**
 * `session_length` of the current window: one value per served session (`sessionId`), its longest
 * request (the items it had seen by its last request); a record without a session id counts alone.
 */
export function currentSessionLengths(
  rows: ReadonlyArray<{ sessionLength: number; sessionId?: string | null | undefined }>,
): RawValue[] {
  const longest = new Map<string, number>();
  const out: RawValue[] = [];
  for (const r of rows) {
    if (r.sessionId === null || r.sessionId === undefined || r.sessionId === '') out.push(r.sessionLength);
    else longest.set(r.sessionId, Math.max(longest.get(r.sessionId) ?? 0, r.sessionLength));
  }
  for (const v of longest.values()) out.push(v);
  return out;
}

/** A serving-log record as the monitor reads it (core's `ServingRecord`, only the request and answer required). */
export type ServingRow = ServingRecordRead;

/** The category of an item in the snapshot's catalogue; null for unknown items or unknown categories. */
export function categoryLookup(items: ItemCatalog): (item: string) => string | null {
  return (item) => {
    const c = Object.hasOwn(items, item) ? items[item]?.category : undefined;
    return typeof c === 'string' && c !== '' ? c : null;
  };
}

/** `category` of the last item of the same (thinned) prefixes as `referenceFrame`. */
export function referenceCategories(
  train: readonly string[][],
  categoryOf: (item: string) => string | null,
  maxRows = 200_000,
): RawValue[] {
  const out: RawValue[] = [];
  forEachThinnedPrefix(train, maxRows, (s, i) => out.push(categoryOf(train[s]![i - 1]!)));
  return out;
}

/** `category` of the last item of each serving request (what the visitor was looking at). */
export function currentCategories(
  rows: readonly ServingRow[],
  categoryOf: (item: string) => string | null,
): RawValue[] {
  return rows.map((r) => (r.items.length ? categoryOf(r.items[r.items.length - 1]!) : null));
}

/**
 * Hours between the first and the last timestamped serving record. hour_of_day is only compared
 * when this covers a full day: a one-hour window against a reference spread over every hour would
 * always "drift" — that is the clock, not the traffic.
 */
export function currentSpanHours(rows: readonly ServingRow[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    const t = parseTimestampMs(r.ts);
    if (t === null) continue;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return hi >= lo ? (hi - lo) / 3_600_000 : 0;
}

/** Hour of day (UTC, 0–23) of a timestamp in ms, or null. */
export function hourOfDay(ms: number | null): number | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).getUTCHours();
}

/** Serving scores are logged rounded to 1e-6; reference scores are rounded the same way. */
export const roundScore = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Current frame: one row per serving record (`session_length`: one per served session). `hour_of_day` comes from the record's ts,
 * `rec_popularity_bucket` / `top_score` from the first recommended item (null for an empty list).
 */
export function currentFrame(rows: readonly ServingRow[], bucket: (item: string) => string): Frame {
  return {
    session_length: currentSessionLengths(rows.map((r) => ({ sessionLength: r.items.length, sessionId: r.sessionId }))),
    item_popularity_bucket: rows.map((r) => (r.items.length ? bucket(r.items[r.items.length - 1]!) : null)),
    hour_of_day: rows.map((r) => hourOfDay(parseTimestampMs(r.ts))),
    rec_popularity_bucket: rows.map((r) => (r.recommended[0] ? bucket(r.recommended[0].itemId) : null)),
    top_score: rows.map((r) =>
      r.recommended[0] && Number.isFinite(r.recommended[0].score) ? r.recommended[0].score : null,
    ),
  };
}

/**
 * Optional times in train.json: `startedAt` (one per session) or `timestamps` (one per session,
 * or one array per session parallel to its items). ISO-8601 or epoch s/ms.
 */
export interface TrainSnapshotFile {
  sessions: string[][];
  startedAt?: Array<string | number | null>;
  timestamps?: Array<string | number | null | Array<string | number | null>>;
}

/**
 * Time (ms) of the request a reference prefix stands for: the time of the prefix's last item when
 * per-event timestamps exist, else the session start. null when train.json carries no times.
 */
export function referenceTimeOf(
  train: TrainSnapshotFile,
): ((session: number, prefixLength: number) => number | null) | null {
  const ts = train.timestamps;
  if (Array.isArray(ts) && ts.length === train.sessions.length) {
    return (s, i) => {
      const t = ts[s];
      return Array.isArray(t) ? parseTimestampMs(t[i - 1]) : parseTimestampMs(t);
    };
  }
  const st = train.startedAt;
  if (Array.isArray(st) && st.length === train.sessions.length) return (s) => parseTimestampMs(st[s]);
  return null;
}

/** `hour_of_day` for the same (thinned) prefixes as `referenceFrame`. */
export function referenceHours(
  train: TrainSnapshotFile,
  timeOf: (session: number, prefixLength: number) => number | null,
  maxRows = 200_000,
): RawValue[] {
  const out: RawValue[] = [];
  forEachThinnedPrefix(train.sessions, maxRows, (s, i) => out.push(hourOfDay(timeOf(s, i))));
  return out;
}

function forEachThinnedPrefix(
  train: readonly string[][],
  maxRows: number,
  f: (session: number, prefixLength: number) => void,
): void {
  const total = train.reduce((a, s) => a + Math.max(0, s.length - 1), 0);
  const step = Math.max(1, Math.ceil(total / maxRows));
  let n = 0;
  train.forEach((s, si) => {
    for (let i = 1; i < s.length; i++) if (n++ % step === 0) f(si, i);
  });
}

/**
 * Deterministic sample of at most `size` reference prefixes (every prefix of length ≥ 1 that has a
 * next item, as in `referenceFrame`), in snapshot order.
 */
export function samplePrefixes(train: readonly string[][], size = 5000, seed = 20240801): string[][] {
  const index: Array<[number, number]> = [];
  train.forEach((s, si) => {
    for (let i = 1; i < s.length; i++) index.push([si, i]);
  });
  let picked: Array<[number, number]>;
  if (index.length <= size) picked = index;
  else {
    // Partial Fisher–Yates over positions, then back to snapshot order.
    const rng = mulberry32(seed);
    const pos = Array.from({ length: index.length }, (_, i) => i);
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(rng() * (pos.length - i));
      const t = pos[i] as number;
      pos[i] = pos[j] as number;
      pos[j] = t;
    }
    picked = pos
      .slice(0, size)
      .sort((a, b) => a - b)
      .map((p) => index[p] as [number, number]);
  }
  return picked.map(([si, i]) => (train[si] as string[]).slice(0, i));
}

/** The recommender's side of the reference: top item's bucket and score for sampled prefixes. */
export function referenceRecommendationFrame(
  prefixes: ReadonlyArray<readonly string[]>,
  recommender: Pick<Recommender, 'recommendBatch'>,
  bucket: (item: string) => string,
  k = 20,
): Frame {
  const recs = recommender.recommendBatch(prefixes, k);
  return {
    rec_popularity_bucket: recs.map((r) => (r[0] ? bucket(r[0].itemId) : null)),
    top_score: recs.map((r) => (r[0] && Number.isFinite(r[0].score) ? roundScore(r[0].score) : null)),
  };
}
