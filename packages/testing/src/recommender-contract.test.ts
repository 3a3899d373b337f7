/**
 * The Recommender contract on a small reference recommender (it must pass), and each check against
 * a recommender broken in the one way that check exists for (it must fail): the checks can fail.
 * The real adapters run the suite in packages/model (recommender-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Recommender, ScoredItem } from '@skiff/core';
import {
  describeRecommenderContract,
  recommenderContractChecks,
  type RecommenderContractCase,
  type RecommenderHarness,
} from './recommender-contract.js';

const TRAIN = [
  ['a', 'b', 'c'],
  ['a', 'b', 'd'],
  ['b', 'c', 'a', 'e'],
  ['c', 'a', 'b'],
  ['f', 'a'],
  ['e', 'b', 'c', 'g'],
  ['h', 'a', 'b'],
];

/** Next-item counts of the last known item, then the most popular items (score 0). */
function reference(train: string[][]): Recommender {
  const counts = new Map<string, number>();
  const next = new Map<string, Map<string, number>>();
  for (const s of train)
    s.forEach((i, j) => {
      counts.set(i, (counts.get(i) ?? 0) + 1);
      const n = s[j + 1];
      if (n !== undefined) {
        const m = next.get(i) ?? new Map<string, number>();
        m.set(n, (m.get(n) ?? 0) + 1);
        next.set(i, m);
      }
    });
  const vocabulary = [...counts.keys()].sort();
  const popular = [...vocabulary].sort((x, y) => counts.get(y)! - counts.get(x)! || (x < y ? -1 : 1));
  const recommend = (history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] => {
    const last = [...history].reverse().find((i) => counts.has(i));
    const m = last === undefined ? undefined : next.get(last);
    const scored = [...(m ?? new Map<string, number>())]
      .map(([itemId, c]) => ({ itemId, score: c }))
      .sort((x, y) => y.score - x.score || popular.indexOf(x.itemId) - popular.indexOf(y.itemId));
    const listed = new Set(scored.map((r) => r.itemId));
    const ranking = [...scored, ...popular.filter((i) => !listed.has(i)).map((itemId) => ({ itemId, score: 0 }))];
    return ranking.filter((r) => !exclude?.has(r.itemId)).slice(0, k);
  };
  return { name: 'reference', vocabulary, recommend, recommendBatch: (hs, k) => hs.map((h) => recommend(h, k)) };
}

describeRecommenderContract('reference', async () => ({ recommender: reference(TRAIN), train: TRAIN }), {
  emptyHistory: 'popular',
  fillsToK: true,
});

describe('Recommender contract checks fail on broken recommenders', () => {
  const ok = reference(TRAIN);
  const broken = (change: Partial<Recommender>): RecommenderHarness => ({
    recommender: { ...ok, ...change },
    train: TRAIN,
  });
  const rec = (f: (h: readonly string[], k: number, e?: ReadonlySet<string>) => ScoredItem[]) => ({
    recommend: f,
    recommendBatch: (hs: ReadonlyArray<readonly string[]>, k: number) => hs.map((h) => f(h, k)),
  });
  let calls = 0;
  const cases: Array<[RecommenderContractCase, string, RecommenderHarness]> = [
    ['vocabulary', 'empty vocabulary', broken({ vocabulary: [] })],
    ['vocabulary', 'duplicate vocabulary', broken({ vocabulary: [...ok.vocabulary, 'a'] })],
    ['k', 'one item too many', broken(rec((h, k, e) => ok.recommend(h, k + 1, e)))],
    ['k', 'nothing for known items', broken(rec(() => []))],
    [
      'valid',
      'duplicates',
      broken(
        rec((h, k, e) => {
          const l = ok.recommend(h, k, e);
          return l.length > 1 ? [l[0]!, ...l.slice(0, -1)] : l;
        }),
      ),
    ],
    [
      'valid',
      'an item outside the vocabulary',
      broken(rec((h, k, e) => [...ok.recommend(h, k - 1, e), { itemId: 'ghost', score: -1 }])),
    ],
    ['valid', 'ascending scores', broken(rec((h, k, e) => ok.recommend(h, k, e).reverse()))],
    ['exclude', 'ignores exclude', broken(rec((h, k) => ok.recommend(h, k)))],
    [
      'exclude',
      'reorders after exclusion',
      broken(
        rec((h, k, e) =>
          e
            ? [...ok.recommend(h, k, e)].sort((x, y) => (x.itemId < y.itemId ? 1 : -1)).map((r) => ({ ...r, score: 0 }))
            : ok.recommend(h, k),
        ),
      ),
    ],
    [
      'unknown',
      'an unknown item resets the session',
      broken(rec((h, k, e) => ok.recommend(h.every((i) => ok.vocabulary.includes(i)) ? h : [], k, e))),
    ],
    [
      'empty',
      'empty history gets the least popular items',
      broken(
        rec((h, k, e) =>
          h.length
            ? ok.recommend(h, k, e)
            : ok
                .recommend([], 100, e)
                .reverse()
                .slice(0, k)
                .map((r, i) => ({ ...r, score: -i })),
        ),
      ),
    ],
    [
      'batch',
      'recommendBatch differs from recommend',
      broken({ recommendBatch: (hs, k) => hs.map(() => ok.recommend([], k)) }),
    ],
    [
      'stateless',
      'remembers the previous request',
      broken(rec((h, k, e) => ok.recommend(++calls % 2 ? h : [...h, 'a'], k, e))),
    ],
  ];
  for (const [check, what, h] of cases)
    it(`${check} fails for: ${what}`, () => {
      expect(() => recommenderContractChecks[check](h, { emptyHistory: 'popular', fillsToK: true })).toThrow();
    });

  it('every check passes on the reference recommender', () => {
    for (const check of Object.keys(recommenderContractChecks) as RecommenderContractCase[])
      recommenderContractChecks[check]({ recommender: ok, train: TRAIN }, { emptyHistory: 'popular', fillsToK: true });
  });
});
