import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Recommender, ScoredItem } from '@skiff/core';
import { contractCase, type ContractSuiteOptions } from './contract-cases.js';

/** What a recommender adapter hands the contract suite: a trained model, shared by every case. */
export interface RecommenderHarness {
  recommender: Recommender;
  /** The sessions it was trained on: histories are taken from them, and the `popular` fallback is judged by their item counts. */
  train?: ReadonlyArray<readonly string[]>;
  dispose?(): void | Promise<void>;
}

/** The cases of `describeRecommenderContract`, by key (what `knownFailures` names). */
export const RECOMMENDER_CONTRACT_CASES = {
  vocabulary: 'the vocabulary is a non-empty list of distinct item ids',
  k: 'at most k items, and at least one for a history of known items',
  valid: 'no duplicates, only vocabulary items, finite scores sorted by descending score (also for a 200-item history)',
  exclude: 'excluded items are never returned; exclusion filters the ranking without reordering it',
  unknown: 'unknown items in the history are ignored; an all-unknown history is an empty one',
  empty: 'an empty history gets the documented fallback',
  batch: 'recommendBatch gives the same result as recommend in a loop',
  stateless: 'a request does not depend on the requests made before it',
} as const;
export type RecommenderContractCase = keyof typeof RECOMMENDER_CONTRACT_CASES;

export interface RecommenderContractOptions extends ContractSuiteOptions<RecommenderContractCase> {
  /**
   * What an empty (or all-unknown) history gets. The port leaves it open, so the adapter states it:
   * `popular` = the k most frequent training items (needs `train`), `empty` = no items,
   * `any` (default) = any valid list.
   */
  emptyHistory?: 'popular' | 'empty' | 'any';
  /** Every list is filled up to k (while the vocabulary has k items not excluded). Default false. */
  fillsToK?: boolean;
}

const UNKNOWN = ['zz-unknown-item-1', 'zz-unknown-item-2'];

/**
 * Throws (through `expect`) unless `list` is a valid answer to a request for `k` items: at most k,
 * no duplicates, only items of `vocabulary`, none of `exclude`, finite scores in descending order.
 */
export function expectValidRecommendations(
  list: readonly ScoredItem[],
  options: {
    k: number;
    vocabulary: ReadonlySet<string> | readonly string[];
    exclude?: ReadonlySet<string>;
    label?: string;
  },
): void {
  const { k, exclude, label = 'recommendations' } = options;
  const vocabulary =
    options.vocabulary instanceof Set ? options.vocabulary : new Set(options.vocabulary as readonly string[]);
  expect(Array.isArray(list), `${label}: an array`).toBe(true);
  expect(list.length, `${label}: at most k=${k}`).toBeLessThanOrEqual(k);
  const ids = list.map((r) => r.itemId);
  expect(new Set(ids).size, `${label}: no duplicates in ${JSON.stringify(ids)}`).toBe(ids.length);
  for (const r of list) {
    expect(vocabulary.has(r.itemId), `${label}: ${r.itemId} is in the vocabulary`).toBe(true);
    expect(Number.isFinite(r.score), `${label}: score of ${r.itemId} is finite (${r.score})`).toBe(true);
    if (exclude) expect(exclude.has(r.itemId), `${label}: ${r.itemId} was excluded`).toBe(false);
  }
  for (let i = 1; i < list.length; i++)
    expect(list[i]!.score, `${label}: sorted by descending score at ${i}`).toBeLessThanOrEqual(list[i - 1]!.score);
}

/** Same items in the same order, scores equal up to float noise. */
export function expectSameRanking(a: readonly ScoredItem[], b: readonly ScoredItem[], label: string): void {
  expect(
    a.map((r) => r.itemId),
    label,
  ).toEqual(b.map((r) => r.itemId));
  a.forEach((r, i) =>
    expect(Math.abs(r.score - b[i]!.score), `${label}: score of ${r.itemId}`).toBeLessThanOrEqual(
      1e-5 * Math.max(1, Math.abs(r.score)),
    ),
  );
}

/** Histories to ask about: prefixes of training sessions (or runs of vocabulary items), short to long. */
function historiesOf(h: RecommenderHarness): string[][] {
  const vocab = h.recommender.vocabulary;
  const vocabSet = new Set(vocab);
  const out: string[][] = [];
  for (const s of h.train ?? []) {
    const known = s.filter((i) => vocabSet.has(i));
    if (known.length >= 2) out.push(known.slice(0, 1), known.slice(0, 2), known.slice(0, 4));
    if (out.length >= 24) break;
  }
  for (let i = 0; out.length < 30 && i < vocab.length; i += 3) out.push(vocab.slice(i, i + 1 + (i % 4)));
  return out.filter((x) => x.length > 0);
}

/**
 * The checks of the Recommender contract as plain functions (each throws on a violation), so that
 * they can run against any recommender, e.g. the one a Trainer's artifact loads as.
 */
export const recommenderContractChecks: Record<
  RecommenderContractCase,
  (h: RecommenderHarness, options?: RecommenderContractOptions) => void
> = {
  vocabulary(h) {
    const v = h.recommender.vocabulary;
    expect(v.length).toBeGreaterThan(0);
    for (const i of v) expect(typeof i === 'string' && i.length > 0).toBe(true);
    expect(new Set(v).size).toBe(v.length);
  },

  k(h, options = {}) {
    const r = h.recommender;
    const V = r.vocabulary.length;
    for (const k of [1, 3, 10, V + 5])
      for (const hist of historiesOf(h)) {
        const list = r.recommend(hist, k);
        expect(list.length, `k=${k} for ${JSON.stringify(hist)}`).toBeLessThanOrEqual(k);
        expect(list.length, `k=${k} for ${JSON.stringify(hist)}: something is ranked`).toBeGreaterThan(0);
        if (options.fillsToK)
          expect(list.length, `k=${k} for ${JSON.stringify(hist)}: filled to k`).toBe(Math.min(k, V));
      }
  },

  valid(h) {
    const r = h.recommender;
    const vocabulary = new Set(r.vocabulary);
    const hs = historiesOf(h);
    for (const hist of hs)
      for (const k of [5, 20])
        expectValidRecommendations(r.recommend(hist, k), {
          k,
          vocabulary,
          label: `recommend(${JSON.stringify(hist)}, ${k})`,
        });
    // The longest history serving accepts (200 items, RecommendationRequestSchema), repeats included.
    const long = Array.from({ length: 200 }, (_, i) => r.vocabulary[(i * 7) % r.vocabulary.length]!);
    expectValidRecommendations(r.recommend(long, 20), { k: 20, vocabulary, label: '200-item history' });
    for (const list of r.recommendBatch(hs, 20))
      expectValidRecommendations(list, { k: 20, vocabulary, label: 'recommendBatch' });
  },

  exclude(h, options = {}) {
    const r = h.recommender;
    const vocabulary = new Set(r.vocabulary);
    const V = r.vocabulary.length;
    const k = 10;
    for (const hist of historiesOf(h).slice(0, 12)) {
      const top = r.recommend(hist, k).map((x) => x.itemId);
      // The current top 3, an item of the history and an unknown id.
      const exclude = new Set([...top.slice(0, 3), hist[0]!, 'zz-not-an-item']);
      const list = r.recommend(hist, k, exclude);
      expectValidRecommendations(list, { k, vocabulary, exclude, label: `exclude ${JSON.stringify([...exclude])}` });
      const wider = r
        .recommend(hist, k + exclude.size)
        .map((x) => x.itemId)
        .filter((i) => !exclude.has(i));
      expect(
        list.map((x) => x.itemId),
        `exclusion only filters, for ${JSON.stringify(hist)}`,
      ).toEqual(wider.slice(0, list.length));
      const known = [...exclude].filter((i) => vocabulary.has(i)).length;
      if (options.fillsToK) expect(list.length).toBe(Math.min(k, V - known));
    }
  },

  unknown(h) {
    const r = h.recommender;
    for (const hist of historiesOf(h).slice(0, 12)) {
      const base = r.recommend(hist, 10);
      expectSameRanking(
        r.recommend([...hist, UNKNOWN[0]!], 10),
        base,
        `unknown item appended to ${JSON.stringify(hist)}`,
      );
      expectSameRanking(
        r.recommend([UNKNOWN[1]!, ...hist], 10),
        base,
        `unknown item prepended to ${JSON.stringify(hist)}`,
      );
      if (hist.length >= 2)
        expectSameRanking(
          r.recommend([hist[0]!, UNKNOWN[0]!, ...hist.slice(1)], 10),
          base,
          `unknown item inside ${JSON.stringify(hist)}`,
        );
    }
    expectSameRanking(r.recommend(UNKNOWN, 10), r.recommend([], 10), 'all-unknown history = empty history');
  },

  empty(h, options = {}) {
    const r = h.recommender;
    const mode = options.emptyHistory ?? 'any';
    const vocabulary = new Set(r.vocabulary);
    for (const k of [1, 5, 20]) {
      const list = r.recommend([], k);
      expectValidRecommendations(list, { k, vocabulary, label: `empty history, k=${k}` });
      expectSameRanking(r.recommendBatch([[]], k)[0]!, list, `recommendBatch([[]], ${k})`);
      if (mode === 'empty') expect(list).toEqual([]);
      if (mode === 'popular') {
        if (!h.train) throw new Error("emptyHistory: 'popular' needs the harness's train sessions");
        const counts = new Map<string, number>();
        for (const s of h.train) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
        const best = [...counts.values()].sort((a, b) => b - a).slice(0, k);
        // The k most frequent training items (ties in any order).
        expect(
          list.map((x) => counts.get(x.itemId) ?? 0),
          `empty history, k=${k}: the most popular items`,
        ).toEqual(best);
      }
    }
  },

  batch(h) {
    const r = h.recommender;
    const hs = [...historiesOf(h), [], UNKNOWN.slice(0, 1)];
    for (const k of [1, 10]) {
      const batch = r.recommendBatch(hs, k);
      expect(batch).toHaveLength(hs.length);
      hs.forEach((hist, i) =>
        expectSameRanking(
          batch[i]!,
          r.recommend(hist, k),
          `recommendBatch vs recommend for ${JSON.stringify(hist)}, k=${k}`,
        ),
      );
    }
    expect(r.recommendBatch([], 5)).toEqual([]);
  },

  stateless(h) {
    const r = h.recommender;
    const hs = historiesOf(h).slice(0, 8);
    const first = hs.map((hist) => r.recommend(hist, 10));
    // Other requests in between, in another order, and a batch.
    r.recommendBatch([...hs].reverse(), 20);
    [...hs].reverse().forEach((hist, i) => r.recommend(hist, 3 + i));
    hs.forEach((hist, i) => expectSameRanking(r.recommend(hist, 10), first[i]!, `again for ${JSON.stringify(hist)}`));
    const reversed = r.recommendBatch([...hs].reverse(), 10).reverse();
    hs.forEach((hist, i) => expectSameRanking(reversed[i]!, first[i]!, `batch order for ${JSON.stringify(hist)}`));
  },
};

/**
 * The behaviour every `Recommender` must have (ports.ts; serving asks for k items,
 * unknown items are ignored): k respected, valid sorted lists, exclusions, unknown items ignored,
 * the stated empty-history fallback, recommendBatch = recommend in a loop, no state between requests.
 * The harness is made once for the suite (training can be slow).
 * @example
 * describeRecommenderContract('pop', async () => {
 *   const train = [['a', 'b'], ['b', 'c', 'a']];
 *   return { recommender: createPopModel(train), train };
 * }, { emptyHistory: 'popular', fillsToK: true });
 */
export function describeRecommenderContract(
  name: string,
  makeRecommender: () => Promise<RecommenderHarness>,
  options: RecommenderContractOptions = {},
): void {
  const suite = options.skip ? describe.skip : describe;
  const title = options.skip
    ? `Recommender contract: ${name} (SKIPPED: ${options.skip})`
    : `Recommender contract: ${name}`;
  const test = contractCase<RecommenderContractCase>(options.knownFailures);
  suite(title, () => {
    let h: RecommenderHarness | undefined;
    beforeAll(async () => {
      h = await makeRecommender();
    });
    afterAll(async () => {
      await h?.dispose?.();
    });
    for (const c of Object.keys(RECOMMENDER_CONTRACT_CASES) as RecommenderContractCase[])
      test(c, RECOMMENDER_CONTRACT_CASES[c], () => {
        if (!h) throw new Error('the recommender harness was not created');
        recommenderContractChecks[c](h, options);
      });
  });
}
