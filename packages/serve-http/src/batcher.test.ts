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

  it('with settleMs, keeps collecting while requests keep arriving turn after turn, then scores them in one call', async () => {
    const calls: string[][][] = [];
    const sizes: number[] = [];
    const b = createMicroBatcher({ settleMs: 60_000, onBatch: (n) => sizes.push(n) });
    const m = model('v1', calls);
    // One request per turn of the event loop for five turns (as the replies to a previous batch
    // trickle in), then nothing: one call for all five.
    const pending: Array<Promise<unknown>> = [];
    await new Promise<void>((done) => {
      const step = (t: number) => {
        if (t < 4) setImmediate(step, t + 1);
        else setImmediate(done);
        pending.push(b.recommend(m, [`t${t}`], 1));
      };
      step(0);
    });
    await Promise.all(pending);
    expect(calls).toEqual([[['t0'], ['t1'], ['t2'], ['t3'], ['t4']]]);
    expect(sizes).toEqual([5]);
    // Without settleMs, the same arrivals are split over several calls.
    const one: string[][][] = [];
    const b0 = createMicroBatcher();
    const m0 = model('v1', one);
    const again: Array<Promise<unknown>> = [];
    await new Promise<void>((done) => {
      const step = (t: number) => {
        if (t < 4) setImmediate(step, t + 1);
        else setImmediate(done);
        again.push(b0.recommend(m0, [`t${t}`], 1));
      };
      step(0);
    });
    await Promise.all(again);
    expect(one.length).toBeGreaterThan(1);
    expect(one.flat()).toEqual([['t0'], ['t1'], ['t2'], ['t3'], ['t4']]);
  });

  it('with settleMs, a lone request waits one quiet turn, not settleMs', async () => {
    const calls: string[][][] = [];
    const b = createMicroBatcher({ settleMs: 60_000 });
    // Counts event-loop turns (setImmediate callbacks) until the answer: one quiet turn, then the
    // call; waiting for the settle window's timer instead would take a minute of turns.
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    await b.recommend(model('v1', calls), ['a'], 1);
    counting = false;
    expect(calls).toEqual([[['a']]]);
    expect(turns).toBeLessThanOrEqual(3);
  });

  it('with settleMs, flushes at once when the batch is full, and the next batch starts afresh', async () => {
    const calls: string[][][] = [];
    const m = model('v1', calls);
    const b = createMicroBatcher({ settleMs: 60_000, maxBatch: 3 });
    const out = await Promise.all([1, 2, 3, 4].map((i) => b.recommend(m, [`r${i}`], 1)));
    expect(out).toHaveLength(4);
    expect(calls.map((c) => c.length)).toEqual([3, 1]);
  });
});
