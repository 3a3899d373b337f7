import type { RawValue } from './drift.js';

/** Monitored columns (DESIGN.md §7; the thin slice covers the request-side columns). */
export const MONITORED_COLUMNS = [
  { name: 'session_length', type: 'num' as const },
  { name: 'item_popularity_bucket', type: 'cat' as const },
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
 * Reference frame: every prefix of every training session, i.e. what a request during that
 * period would have looked like (prefix length, bucket of the last item).
 */
export function referenceFrame(train: readonly string[][], bucket: (item: string) => string, maxRows = 200_000): Frame {
  const length: RawValue[] = [];
  const pop: RawValue[] = [];
  const total = train.reduce((a, s) => a + Math.max(0, s.length - 1), 0);
  // Deterministic thinning keeps very large snapshots bounded without randomness.
  const step = Math.max(1, Math.ceil(total / maxRows));
  let n = 0;
  for (const s of train)
    for (let i = 1; i < s.length; i++) {
      if (n++ % step !== 0) continue;
      length.push(i);
      pop.push(bucket(s[i - 1]!));
    }
  return { session_length: length, item_popularity_bucket: pop };
}

export interface ServingRow {
  items: string[];
  recommended: Array<{ itemId: string; score: number }>;
}

export function currentFrame(rows: readonly ServingRow[], bucket: (item: string) => string): Frame {
  return {
    session_length: rows.map((r) => r.items.length),
    item_popularity_bucket: rows.map((r) => (r.items.length ? bucket(r.items[r.items.length - 1]!) : null)),
  };
}
