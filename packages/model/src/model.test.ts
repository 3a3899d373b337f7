import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Recommender, TrainParams } from '@skiff/core';
import { initBackend, unsortedSegmentSumWasm } from './backend.js';
import { evaluate } from './evaluate.js';
import { loadGru4Rec, sessionWindows, trainGru4Rec } from './gru4rec.js';
import { createPopModel } from './pop.js';
import { itemCounts } from './vocabulary.js';

const params: TrainParams = { model: 'gru4rec', embeddingDim: 32, hiddenUnits: 32, maxLen: 8, epochs: 4, batchSize: 64, learningRate: 0.01, seed: 7 };

/** 300 items; item i is usually followed by (7i + 3) mod 300. Seeded, so the test is stable. */
function structured(sessions: number, seed: number): string[][] {
  let a = seed;
  const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out: string[][] = [];
  for (let s = 0; s < sessions; s++) {
    let cur = Math.floor(Math.pow(rnd(), 2) * 300);
    const len = 3 + Math.floor(rnd() * 6);
    const seq = [`i${cur}`];
    for (let i = 1; i < len; i++) {
      cur = rnd() < 0.8 ? (cur * 7 + 3) % 300 : Math.floor(Math.pow(rnd(), 2) * 300);
      seq.push(`i${cur}`);
    }
    out.push(seq);
  }
  return out;
}

describe('backend', () => {
  it('uses WASM (or native TensorFlow) and the registered kernel matches the dense gradient', async () => {
    expect(['wasm', 'tensorflow']).toContain(await initBackend());
    expect(tf.getBackend()).not.toBe('cpu');
    expect(typeof unsortedSegmentSumWasm).toBe('function');
    const table = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 1));
    const ids = tf.tensor1d([0, 3, 3, 5, 1], 'int32');
    const weights = tf.randomNormal([5, 4], 0, 1, 'float32', 2);
    const viaGather = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
    const viaDense = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.matMul(tf.oneHot(ids, 6).toFloat(), t), weights)))(table);
    const diff = tf.max(tf.abs(tf.sub(viaGather, viaDense))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-5);
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
    // Targets: b (rank 2), d (absent), c (rank 3); 'x' is unknown and removed first.
    const { metrics, predictions } = evaluate(fixed, [['a', 'b', 'x', 'd'], ['b', 'c']], { ks: [2, 3], trainItemCounts: new Map([['a', 4], ['b', 2], ['c', 1], ['d', 1]]) });
    expect(predictions).toBe(3);
    expect(metrics['hr@2']).toBeCloseTo(1 / 3, 12);
    expect(metrics['hr@3']).toBeCloseTo(2 / 3, 12);
    expect(metrics['mrr@3']).toBeCloseTo((1 / 2 + 1 / 3) / 3, 12);
    expect(metrics['ndcg@3']).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(4)) / 3, 12);
    expect(metrics['coverage@2']).toBeCloseTo(0.5, 12);
    expect(metrics['popbias@2']).toBeCloseTo((1 + 0.5) / 2, 12);
  });
});

describe('GRU4Rec', () => {
  it('cuts sessions into windows of at most maxLen inputs with next-item targets', () => {
    expect(sessionWindows([[1, 2, 3, 4, 5]], 2)).toEqual([
      { input: [1, 2], target: [2, 3] },
      { input: [3, 4], target: [4, 5] },
    ]);
    expect(sessionWindows([[1]], 2)).toEqual([]);
  });

  it('learns item-to-item structure POP cannot, saves and reloads identically, without leaking tensors', async () => {
    const train = structured(3000, 1);
    const test = structured(400, 2);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const { model, losses } = await trainGru4Rec({ train, params, onEpochEnd: (e) => void epochs.push(e.epoch) });
    expect(epochs).toEqual([1, 2, 3, 4]);
    expect(losses[3]!).toBeLessThan(losses[0]!);
    const counts = itemCounts(train);
    const gru = evaluate(model, test, { trainItemCounts: counts }).metrics;
    const pop = evaluate(createPopModel(train), test, { trainItemCounts: counts }).metrics;
    expect(gru['hr@20']!).toBeGreaterThan(0.6);
    expect(gru['hr@20']!).toBeGreaterThan(2 * pop['hr@20']!);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-model-'));
    try {
      expect(await model.save(dir)).toEqual(['model.json', 'weights.bin', 'vocabulary.json', 'config.json']);
      const loaded = await loadGru4Rec(dir);
      const h = [['i1', 'i10'], ['i5'], ['unknown']];
      expect(loaded.recommendBatch(h, 10)).toEqual(model.recommendBatch(h, 10));
      expect(loaded.recommend(['i1'], 5, new Set(['i10']))).not.toContainEqual(expect.objectContaining({ itemId: 'i10' }));
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    model.dispose();
    // Only the optimizer's slots may survive training; nothing grows per batch.
    expect(tf.memory().numTensors - before).toBeLessThan(30);
  });

  it('stops between batches when cancelled', async () => {
    const ac = new AbortController();
    let seen = 0;
    const run = trainGru4Rec({ train: structured(2000, 3), params, signal: ac.signal, onBatchEnd: () => void (++seen === 3 && ac.abort()) });
    await expect(run).rejects.toThrow(/cancelled/);
    expect(seen).toBe(3);
  });
});
