import type { RawEvent } from '@skiff/core';
import type { Catalogue } from './catalogue.js';

export interface SessionStats {
  sessions: number;
  events: number;
  /** Item views/clicks per session. */
  meanLength: number;
  medianLength: number;
  p95Length: number;
  maxLength: number;
  /** Share of consecutive item pairs whose second item is in the first one's successor list. */
  successorFollowRate: number;
  /** The k most viewed/clicked items. */
  topItems: string[];
  /** Share of consecutive item pairs whose second item is one of `topItems` (what POP@k can hit at best). */
  topItemsHitRate: number;
  eventTypeShares: Record<string, number>;
  categoryShares: Record<string, number>;
}

const VIEWS_AND_CLICKS: ReadonlySet<string> = new Set(['view', 'click']);
/** Every event with an item: what the pipeline's session sequences hold (views, clicks, carts, purchases). */
export const ITEM_EVENT_TYPES: ReadonlySet<string> = new Set(['view', 'click', 'add_to_cart', 'purchase']);

/** The item sequence of every session, in event order: views and clicks unless `types` says otherwise. */
export function itemSequences(
  events: Iterable<RawEvent>,
  types: ReadonlySet<string> = VIEWS_AND_CLICKS,
): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const e of events) {
    if (!e.item_id || !types.has(e.event_type)) continue;
    let seq = by.get(e.session_id);
    if (!seq) by.set(e.session_id, (seq = []));
    seq.push(e.item_id);
  }
  return by;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** What the tests (and a curious reader) measure about generated traffic. */
export function sessionStats(events: RawEvent[], catalogue: Catalogue, k = 20): SessionStats {
  const seqs = [...itemSequences(events).values()];
  const lengths = seqs.map((s) => s.length).sort((a, b) => a - b);
  const counts = new Map<string, number>();
  for (const s of seqs) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
  const topItems = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, k)
    .map(([i]) => i);
  const top = new Set(topItems);
  let pairs = 0;
  let follows = 0;
  let inTop = 0;
  for (const s of seqs)
    for (let j = 1; j < s.length; j++) {
      pairs++;
      const prev = catalogue.indexOf.get(s[j - 1]!);
      const next = catalogue.indexOf.get(s[j]!);
      if (prev !== undefined && next !== undefined && catalogue.successors[prev]!.includes(next)) follows++;
      if (top.has(s[j]!)) inTop++;
    }
  const eventTypeShares: Record<string, number> = {};
  const categoryShares: Record<string, number> = {};
  let withCategory = 0;
  for (const e of events) {
    eventTypeShares[e.event_type] = (eventTypeShares[e.event_type] ?? 0) + 1 / events.length;
    if (e.category && (e.event_type === 'view' || e.event_type === 'click')) {
      categoryShares[e.category] = (categoryShares[e.category] ?? 0) + 1;
      withCategory++;
    }
  }
  for (const c of Object.keys(categoryShares)) categoryShares[c] = categoryShares[c]! / withCategory;
  return {
    sessions: new Set(events.map((e) => e.session_id)).size,
    events: events.length,
    meanLength: lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0,
    medianLength: quantile(lengths, 0.5),
    p95Length: quantile(lengths, 0.95),
    maxLength: lengths[lengths.length - 1] ?? 0,
    successorFollowRate: pairs ? follows / pairs : 0,
    topItems,
    topItemsHitRate: pairs ? inTop / pairs : 0,
    eventTypeShares,
    categoryShares,
  };
}

/** What the calibration compares between simulated and real sessions (item sequences only). */
export interface SequenceStats {
  sessions: number;
  events: number;
  items: number;
  meanLength: number;
  /** Share of sessions by length: `2`, `3`, `4`, `5-6`, `7-10`, `11-20`, `>20` (and `1` when present). */
  lengthShares: Record<string, number>;
  medianLength: number;
  p95Length: number;
  /** Share of next items equal to the previous item (consecutive repeat clicks). */
  repeatShare: number;
  /** Share of next items already seen earlier in the session (repeats included). */
  inSessionShare: number;
  distinctPerSession: number;
  /** Gini coefficient of item click counts (0 = every item equally clicked). */
  popularityGini: number;
  /**
   * Share of non-repeat next items that are among the previous item's 3 most frequent successors,
   * learned on the other half of the sessions (even/odd, two-fold): how far the previous item
   * alone predicts the next one, measured the same way on any log.
   */
  followShare: number;
}

export const LENGTH_BUCKETS = ['1', '2', '3', '4', '5-6', '7-10', '11-20', '>20'] as const;

function lengthBucket(n: number): string {
  if (n <= 4) return String(n);
  if (n <= 6) return '5-6';
  if (n <= 10) return '7-10';
  if (n <= 20) return '11-20';
  return '>20';
}

/**
 * The filter of the YooChoose sample (session-rec's rsc15 preparation): drop sessions shorter than
 * `minLength`, then items seen fewer than `minSupport` times, then sessions that became too short.
 */
export function filterSessions(seqs: readonly string[][], minLength = 2, minSupport = 5): string[][] {
  const counts = new Map<string, number>();
  const long = seqs.filter((s) => s.length >= minLength);
  for (const s of long) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
  return long.map((s) => s.filter((i) => counts.get(i)! >= minSupport)).filter((s) => s.length >= minLength);
}

function gini(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const sum = v.reduce((a, b) => a + b, 0);
  if (n === 0 || sum === 0) return 0;
  let g = 0;
  for (let k = 0; k < n; k++) g += (2 * (k + 1) - n - 1) * v[k]!;
  return g / (n * sum);
}

function followShare(seqs: readonly string[][], top = 3): number {
  const tables = [new Map<string, Map<string, number>>(), new Map<string, Map<string, number>>()];
  seqs.forEach((s, si) => {
    const t = tables[si % 2]!;
    for (let j = 1; j < s.length; j++) {
      if (s[j] === s[j - 1]) continue;
      let m = t.get(s[j - 1]!);
      if (!m) t.set(s[j - 1]!, (m = new Map()));
      m.set(s[j]!, (m.get(s[j]!) ?? 0) + 1);
    }
  });
  const tops = tables.map(
    (t) =>
      new Map(
        [...t].map(([a, m]) => [
          a,
          new Set(
            [...m]
              .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
              .slice(0, top)
              .map(([i]) => i),
          ),
        ]),
      ),
  );
  let n = 0;
  let hits = 0;
  seqs.forEach((s, si) => {
    const other = tops[1 - (si % 2)]!;
    for (let j = 1; j < s.length; j++) {
      if (s[j] === s[j - 1]) continue;
      n++;
      if (other.get(s[j - 1]!)?.has(s[j]!)) hits++;
    }
  });
  return n ? hits / n : 0;
}

/** Session-structure statistics of item sequences (simulated or real), for calibration. */
export function sequenceStats(seqs: readonly string[][]): SequenceStats {
  const lengths = seqs.map((s) => s.length).sort((a, b) => a - b);
  const lengthShares: Record<string, number> = {};
  for (const n of lengths) lengthShares[lengthBucket(n)] = (lengthShares[lengthBucket(n)] ?? 0) + 1 / lengths.length;
  const counts = new Map<string, number>();
  let pairs = 0;
  let repeats = 0;
  let inSession = 0;
  let distinct = 0;
  for (const s of seqs) {
    const seen = new Set<string>();
    for (let j = 0; j < s.length; j++) {
      const i = s[j]!;
      counts.set(i, (counts.get(i) ?? 0) + 1);
      if (j > 0) {
        pairs++;
        if (i === s[j - 1]) repeats++;
        if (seen.has(i)) inSession++;
      }
      seen.add(i);
    }
    distinct += seen.size;
  }
  const events = lengths.reduce((a, b) => a + b, 0);
  return {
    sessions: seqs.length,
    events,
    items: counts.size,
    meanLength: seqs.length ? events / seqs.length : 0,
    lengthShares,
    medianLength: quantile(lengths, 0.5),
    p95Length: quantile(lengths, 0.95),
    repeatShare: pairs ? repeats / pairs : 0,
    inSessionShare: pairs ? inSession / pairs : 0,
    distinctPerSession: seqs.length ? distinct / seqs.length : 0,
    popularityGini: gini([...counts.values()]),
    followShare: followShare(seqs),
  };
}
