import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Recommender, TrainParams } from '@skiff/core';
import { initBackend, setIntraOpThreads } from './backend.js';
import { evaluate } from './evaluate.js';
import { loadGru4Rec } from './neural-model.js';
import { prefixExamples, trainGru4Rec } from './neural-trainer.js';
import { createPopModel } from './pop.js';
import { mulberry32 } from './random.js';
import { itemCounts } from './vocabulary.js';

const params: TrainParams = {
  model: 'gru4rec',
  embeddingDim: 32,
  hiddenUnits: 48,
  maxLen: 8,
  epochs: 3,
  batchSize: 128,
  learningRate: 0.01,
  seed: 7,
};

/** 300 items; item i is usually followed by (7i + 3) mod 300; starts skewed to popular items. */
function structured(sessions: number, seed: number): string[][] {
  const rnd = mulberry32(seed);
  const randomItem = () => Math.floor(Math.pow(rnd(), 2) * 300);
  const out: string[][] = [];
  for (let s = 0; s < sessions; s++) {
    let cur = randomItem();
    const len = 3 + Math.floor(rnd() * 6);
    const seq = [`i${cur}`];
    for (let i = 1; i < len; i++) {
      cur = rnd() < 0.8 ? (cur * 7 + 3) % 300 : randomItem();
      seq.push(`i${cur}`);
    }
    out.push(seq);
  }
  return out;
}

describe('backend', () => {
  it('is WASM (or native TensorFlow, never cpu) and idempotent', async () => {
    const a = await initBackend();
    expect(['wasm', 'tensorflow']).toContain(a.backend);
    expect(await initBackend()).toEqual(a);
    expect(tf.getBackend()).toBe(a.backend);
  });

  it('refuses a TensorFlow thread count once the backend has started (it would be ignored)', async () => {
    await initBackend();
    expect(() => setIntraOpThreads(0)).not.toThrow(); // the count it started with
    expect(() => setIntraOpThreads(3)).toThrow(/already started/);
  });

  it('UnsortedSegmentSum: the gather gradient equals the dense one-hot gradient', async () => {
    const { backend } = await initBackend();
    const table = tf.randomNormal([50, 8], 0, 1, 'float32', 1);
    for (const shape of [[40], [6, 9]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const ids = tf.tensor(
        Array.from({ length: count }, (_, i) => ((i * 17 + 3) % 50) % (i % 3 === 0 ? 5 : 50)),
        shape,
        'int32',
      );
      const upstream = tf.randomNormal([...shape, 8], 0, 1, 'float32', 2);
      const viaGather = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), upstream)))(table);
      const viaDense = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(tf.oneHot(ids.flatten(), 50).toFloat(), t).reshape([...shape, 8]), upstream)),
      )(table);
      const diff = tf.max(tf.abs(tf.sub(viaGather, viaDense))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-5);
      tf.dispose([ids, upstream, viaGather, viaDense]);
    }
    // Direct call to skiff's WASM kernel, with an out-of-range id that must be skipped (native
    // TensorFlow refuses such ids instead, so this part is WASM-only).
    if (backend === 'wasm') {
      const direct = tf.unsortedSegmentSum(
        tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
        tf.tensor1d([1, 1, 7], 'int32'),
        3,
      );
      expect(Array.from(direct.dataSync())).toEqual([0, 0, 4, 6, 0, 0]);
      tf.dispose(direct);
    }
    tf.dispose(table);
  });
});

describe('evaluate', () => {
  it('computes HR, MRR, NDCG, coverage and popularity bias exactly on a fixed ranking', () => {
    const fixed: Recommender = {
      name: 'fixed',
      vocabulary: ['a', 'b', 'c', 'd'],
      recommend: () => [],
      recommendBatch: (h, k) => h.map(() => ['a', 'b', 'c'].slice(0, k).map((itemId) => ({ itemId, score: 1 }))),
    };
    // 'x' is unknown and removed first, so predictions: [a]→b (rank 2), [a,b]→d (missed), [b]→c (rank 3).
    const { metrics, predictions } = evaluate(
      fixed,
      [
        ['a', 'b', 'x', 'd'],
        ['b', 'c'],
        ['x', 'a'],
      ],
      {
        ks: [2, 3],
        trainItemCounts: new Map([
          ['a', 4],
          ['b', 2],
          ['c', 1],
          ['d', 1],
        ]),
      },
    );
    expect(predictions).toBe(3);
    expect(metrics['hr@2']).toBeCloseTo(1 / 3, 12);
    expect(metrics['hr@3']).toBeCloseTo(2 / 3, 12);
    expect(metrics['mrr@2']).toBeCloseTo(1 / 2 / 3, 12);
    expect(metrics['mrr@3']).toBeCloseTo((1 / 2 + 1 / 3) / 3, 12);
    expect(metrics['ndcg@2']).toBeCloseTo(1 / Math.log2(3) / 3, 12);
    expect(metrics['ndcg@3']).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(4)) / 3, 12);
    expect(metrics['coverage@2']).toBeCloseTo(0.5, 12);
    expect(metrics['coverage@3']).toBeCloseTo(0.75, 12);
    expect(metrics['popbias@2']).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(metrics['popbias@3']).toBeCloseTo((1 + 0.5 + 0.25) / 3, 12);
  });

  it('POP ranks by training count, the same list for every prefix', () => {
    const pop = createPopModel([
      ['a', 'b', 'a'],
      ['c', 'a', 'b'],
    ]);
    expect(pop.name).toBe('pop');
    expect(pop.recommend(['c'], 2).map((r) => r.itemId)).toEqual(['a', 'b']);
    expect(pop.recommend([], 2, new Set(['a'])).map((r) => r.itemId)).toEqual(['b', 'c']);
    expect(pop.recommendBatch([['a'], ['zzz']], 3)).toEqual([pop.recommend([], 3), pop.recommend([], 3)]);
  });
});

describe('GRU4Rec', () => {
  it('makes one example per (prefix truncated to maxLen → next item)', () => {
    const ex = prefixExamples([[1, 2, 3, 4], [5], [6, 7]], 2);
    const prefixes = Array.from(ex.target, (_, e) =>
      Array.from(ex.flat.subarray(ex.start[e]!, ex.start[e]! + ex.length[e]!)),
    );
    expect(prefixes).toEqual([[1], [1, 2], [2, 3], [6]]);
    expect(Array.from(ex.target)).toEqual([2, 3, 4, 7]);
  });

  it('learns item-to-item structure POP cannot; saves and reloads identically; no tensor leaks', async () => {
    await initBackend();
    const train = structured(3000, 1);
    const test = structured(500, 2);
    const before = tf.memory().numTensors;
    const perBatch: number[] = [];
    const epochs: number[] = [];
    const t0 = Date.now();
    const model = await trainGru4Rec({
      train,
      params,
      onBatchEnd: () => void perBatch.push(tf.memory().numTensors),
      onEpochEnd: (e) => void epochs.push(e.epoch),
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(epochs).toEqual([0, 1, 2]);
    const losses = model.training!.losses;
    expect(losses[2]!).toBeLessThan(losses[0]!);
    // Tensor count is flat across batches (only the optimizer's slots appear after batch 1).
    expect(new Set(perBatch.slice(1)).size).toBe(1);

    const counts = itemCounts(train);
    const gru = evaluate(model, test, { trainItemCounts: counts });
    const pop = evaluate(createPopModel(train), test, { trainItemCounts: counts });
    console.log(
      `[gru4rec] ${model.config.backend}: ${Math.round(model.training!.samplesPerSecond)} samples/s, ${model.training!.examples} examples/epoch, ${seconds.toFixed(1)} s; ` +
        `losses ${losses.map((l) => l.toFixed(3)).join(' ')}; ${gru.predictions} predictions; ` +
        `GRU4Rec hr@20 ${gru.metrics['hr@20']!.toFixed(3)} mrr@20 ${gru.metrics['mrr@20']!.toFixed(3)} | POP hr@20 ${pop.metrics['hr@20']!.toFixed(3)} mrr@20 ${pop.metrics['mrr@20']!.toFixed(3)}`,
    );
    expect(gru.metrics['hr@20']!).toBeGreaterThan(0.6);
    expect(gru.metrics['hr@20']!).toBeGreaterThan(2 * pop.metrics['hr@20']!);
    expect(gru.metrics['mrr@20']!).toBeGreaterThan(2 * pop.metrics['mrr@20']!);

    // recommend: same as recommendBatch; exclusions; unknown-only history → popular items.
    const h = [['i1', 'i10'], ['i5', 'unknown'], ['unknown'], []];
    const batch = model.recommendBatch(h, 10);
    expect(model.recommend(h[0]!, 10).map((r) => r.itemId)).toEqual(batch[0]!.map((r) => r.itemId));
    const top = batch[0]![0]!.itemId;
    const excl = model.recommend(h[0]!, 10, new Set([top]));
    expect(excl).toHaveLength(10);
    expect(excl.map((r) => r.itemId)).not.toContain(top);
    expect(batch[2]!.map((r) => r.itemId)).toEqual(
      createPopModel(train)
        .recommend([], 10)
        .map((r) => r.itemId),
    );
    expect(batch[3]).toEqual(batch[2]);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-model-'));
    try {
      const files = await model.save(dir);
      expect(files).toEqual(['model.json', 'weights.bin', 'vocabulary.json', 'config.json']);
      expect((await readdir(dir)).sort()).toEqual([...files].sort());
      const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
      expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
        'itemEmb',
        'W',
        'U',
        'b',
        'outEmb',
        'outBias',
      ]);
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
        kind: string;
        backend: string;
        popularity: Array<[string, number]>;
      };
      expect(config.kind).toBe('gru4rec');
      expect(config.backend).toBe(model.config.backend);
      expect(config.popularity[0]).toEqual([...itemCounts(train).entries()].sort((a, b) => b[1] - a[1])[0]);
      const loaded = await loadGru4Rec(dir);
      expect(loaded.vocabulary).toEqual(model.vocabulary);
      expect(loaded.recommendBatch(h, 20)).toEqual(model.recommendBatch(h, 20));
      expect(evaluate(loaded, test.slice(0, 100)).metrics).toEqual(evaluate(model, test.slice(0, 100)).metrics);
      loaded.dispose();

      // Resume from the saved weights for the last epoch only.
      const resumed = await trainGru4Rec({ train, params, initialEpoch: 2, initialWeightsDir: dir });
      expect(resumed.training!.losses).toHaveLength(1);
      expect(resumed.training!.losses[0]!).toBeLessThan(losses[0]!);
      resumed.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops between batches when cancelled, without leaking tensors', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    let seen = 0;
    const run = trainGru4Rec({
      train: structured(2000, 3),
      params,
      signal: ac.signal,
      onBatchEnd: () => void (++seen === 3 && ac.abort()),
    });
    await expect(run).rejects.toThrow(/cancelled/);
    expect(seen).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });
});
