import { describe, expect, it } from 'vitest';
import type { ModelManifest, Recommender } from '@skiff/core';
import { createMicroBatcher } from './batcher.js';
import type { LoadedModel } from './model-holder.js';

function model(version: string, calls: string[][][]): LoadedModel {
  const recommender: Recommender = {
    name: 'echo',
    vocabulary: ['a', 'b', 'c'],
    recommend: (h, k) => ['a', 'b', 'c'].slice(0, k).map((itemId, i) => ({ itemId, score: h.length - i })),
    recommendBatch: (hs, k) => {
      calls.push(hs.map((h) => [...h]));
      return hs.map((h) => recommender.recommend(h, k));
    },
  };
  return { recommender, manifest: { version } as ModelManifest, known: new Set(recommender.vocabulary) };
}

describe('micro-batching', () => {
  it('scores requests of one event-loop turn in one call per model, each with its own k', async () => {
    const calls1: string[][][] = [];
    const calls2: string[][][] = [];
    const m1 = model('v1', calls1);
    const m2 = model('v2', calls2);
    const b = createMicroBatcher();
    const out = await Promise.all([
      b.recommend(m1, ['a'], 1),
      b.recommend(m1, ['a', 'b'], 3),
      b.recommend(m2, ['c'], 2),
      b.recommend(m1, [], 2),
    ]);
    expect(calls1).toEqual([[['a'], ['a', 'b'], []]]);
    expect(calls2).toEqual([[['c']]]);
    expect(out[0]).toEqual(m1.recommender.recommend(['a'], 1));
    expect(out[1]).toEqual(m1.recommender.recommend(['a', 'b'], 3));
    expect(out[2]).toEqual(m2.recommender.recommend(['c'], 2));
    expect(out[3]).toHaveLength(2);
    expect(b.meanBatchSize()).toBe(2);
  });

  it('rejects every request of a failing call, and keeps serving the next turn', async () => {
    const failing: LoadedModel = {
      ...model('v1', []),
      recommender: {
        ...model('v1', []).recommender,
        recommendBatch: () => {
          throw new Error('boom');
        },
      },
    };
    const b = createMicroBatcher();
    const results = await Promise.allSettled([b.recommend(failing, ['a'], 1), b.recommend(failing, ['b'], 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(b.recommend(model('v2', []), ['a'], 1)).resolves.toHaveLength(1);
  });
});
