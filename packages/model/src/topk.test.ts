import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import type { Gru4RecConfig } from './neural-artifact.js';
import { Gru4RecModel } from './neural-model.js';
import { initWeights } from './neural-weights.js';
import { mulberry32 } from './random.js';
import { Vocabulary } from './vocabulary.js';

// The serving path (a frozen model: padded tables, chunked top-k) must give exactly what the plain
// path (one tf.topk over every item, what training's validation uses) gives: the same ids in the
// same order, ties included, and the same scores.
const ITEMS = 2_000; // 16 chunks of 128 columns, the last one padded
const base: TrainParams = {
  model: 'gru4rec',
  embeddingDim: 8,
  hiddenUnits: 16,
  maxLen: 6,
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  seed: 3,
};

function histories(n: number, seed: number): string[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => `i${Math.floor(rnd() * ITEMS)}`),
  );
}

describe('chunked top-k of a frozen model', () => {
  for (const [label, params] of [
    ['gru4rec', base],
    ['gru4rec with a repeat term', { ...base, repeatWindow: 3 }],
    ['sasrec', { ...base, model: 'sasrec', hiddenUnits: 16, blocks: 1 }],
  ] as Array<[string, TrainParams]>) {
    it(`gives the plain path's lists (${label}), ties included`, async () => {
      await initBackend();
      const before = tf.memory().numTensors;
      const kind: NonNullable<Gru4RecConfig['kind']> = params.model === 'sasrec' ? 'sasrec' : 'gru4rec';
      const vocab = new Vocabulary(Array.from({ length: ITEMS }, (_, i) => `i${i}`));
      const weights = initWeights(kind, ITEMS, params);
      // Exact ties across chunks: a bias so large that h·o is lost in rounding (ulp 64 at 1e9).
      const bias = new Float32Array(ITEMS + 1);
      for (const id of [7, 130, 131, 900, 1999, 2000]) bias[id] = 1e9;
      for (const id of [64, 1500]) bias[id] = 5e8;
      bias[1990] = 2e9; // the last chunk ranks first, yet its 1e9 ties come after those of lower ids

      const b = tf.tensor1d(bias);
      weights.outBias.assign(b);
      b.dispose();
      const config: Gru4RecConfig = { kind, params, backend: 'test', popularity: [['i0', 1]] };
      const plain = new Gru4RecModel(vocab, weights, config);
      const frozen = new Gru4RecModel(vocab, weights, config, undefined, true);
      const hs = histories(70, 11);
      for (const k of [1, 5, 20, 200]) {
        expect(frozen.recommendBatch(hs, k)).toEqual(plain.recommendBatch(hs, k));
        expect(frozen.recommend(hs[0]!, k)).toEqual(plain.recommend(hs[0]!, k));
      }
      const top = frozen.recommend(['i1'], 9).map((r) => r.itemId);
      // Ties keep id order (vocabulary id = index + 1), whichever chunk they are in.
      expect(top).toEqual(['i1989', 'i6', 'i129', 'i130', 'i899', 'i1998', 'i1999', 'i63', 'i1499']);
      frozen.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
