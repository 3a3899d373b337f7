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

/** The clicked/viewed item sequence of every session, in event order. */
export function itemSequences(events: Iterable<RawEvent>): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const e of events) {
    if (!e.item_id || (e.event_type !== 'view' && e.event_type !== 'click')) continue;
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
