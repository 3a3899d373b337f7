import type { Recommender, ScoredItem } from '@skiff/core';
import { itemCounts } from './vocabulary.js';

/**
 * POP (session-rec `pop.py`): items ranked by their number of occurrences in the training data;
 * the same list for every prefix. Score = count / max count.
 */
export function createPopModel(train: readonly (readonly string[])[]): Recommender {
  const counts = itemCounts(train);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const max = ranked[0]?.[1] ?? 1;
  const list: ScoredItem[] = ranked.map(([itemId, c]) => ({ itemId, score: c / max }));
  const vocabulary = ranked.map(([i]) => i);
  const top = (k: number, exclude?: ReadonlySet<string>) => {
    if (!exclude || exclude.size === 0) return list.slice(0, k);
    const out: ScoredItem[] = [];
    for (const r of list) {
      if (exclude.has(r.itemId)) continue;
      out.push(r);
      if (out.length === k) break;
    }
    return out;
  };
  return {
    name: 'pop',
    vocabulary,
    recommend: (_history, k, exclude) => top(k, exclude),
    recommendBatch: (histories, k) => histories.map(() => top(k)),
  };
}
