import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { initWeights } from './neural-weights.js';
import { mulberry32 } from './random.js';
import { resolveSasRecOptions, sasrecEncoder } from './sasrec-encoder.js';

/**
 * The textbook formulation, op for op (tf.moments in every LayerNorm, heads split and merged by
 * transposes even for one head). The encoder skips ops that cannot change a value; this reference
 * is kept to prove they cannot: the same session states, bit for bit.
 */
function referenceFinalState(w: Record<string, tf.Tensor>, ids: tf.Tensor2D, mask: tf.Tensor2D, p: TrainParams) {
  const { blocks, heads } = resolveSasRecOptions(p);
  const [batch, steps] = ids.shape;
  const d = p.embeddingDim;
  const layerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6))), g), b);
  };
  const split = (x: tf.Tensor, s: number) =>
    tf.reshape(tf.transpose(tf.reshape(x, [batch, s, heads, d / heads]), [0, 2, 1, 3]), [batch * heads, s, d / heads]);
  const dense = (x: tf.Tensor, m: tf.Tensor, b?: tf.Tensor) => {
    const [bb, s, dd] = x.shape as [number, number, number];
    const y = tf.matMul(tf.reshape(x, [bb * s, dd]), m as tf.Tensor2D);
    return tf.reshape(b ? tf.add(y, b) : y, [bb, s, m.shape[1]!]);
  };
  const keep = tf.expandDims(mask, 2);
  const pos = tf.slice(w.posEmb!, [p.maxLen - steps, 0], [steps, d]);
  let x: tf.Tensor = tf.mul(tf.add(tf.gather(w.itemEmb!, ids), pos), keep);
  const keyOk = tf.reshape(mask, [batch, 1, 1, steps]);
  const lastMask = tf.mul(tf.sub(1, keyOk), -1e9);
  const fullMask =
    blocks > 1
      ? tf.mul(
          tf.sub(1, tf.mul(tf.linalg.bandPart(tf.ones([steps, steps]), -1, 0).reshape([1, 1, steps, steps]), keyOk)),
          -1e9,
        )
      : lastMask;
  const dh = d / heads;
  for (let l = 0; l < blocks; l++) {
    const W = (n: string) => w[`block${l}_${n}`]!;
    const last = l === blocks - 1;
    const q = last ? 1 : steps;
    const y = layerNorm(x, W('ln1g'), W('ln1b'));
    const yq = last ? tf.slice(y, [0, steps - 1, 0], [batch, 1, d]) : y;
    const Q = split(dense(yq, W('Wq')), q);
    const K = split(dense(y, W('Wk')), steps);
    const V = split(dense(y, W('Wv')), steps);
    const logits = tf.add(
      tf.reshape(tf.div(tf.matMul(Q, K, false, true), Math.sqrt(dh)), [batch, heads, q, steps]),
      last ? lastMask : fullMask,
    );
    const att = tf.reshape(tf.softmax(logits), [batch * heads, q, steps]);
    const o = tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, V), [batch, heads, q, dh]), [0, 2, 1, 3]), [
      batch,
      q,
      d,
    ]);
    const xq = last ? tf.slice(x, [0, steps - 1, 0], [batch, 1, d]) : x;
    x = tf.add(xq, dense(o, W('Wo')));
    x = tf.add(x, dense(tf.relu(dense(layerNorm(x, W('ln2g'), W('ln2b')), W('W1'), W('b1'))), W('W2'), W('b2')));
    if (!last) x = tf.mul(x, keep);
  }
  return layerNorm(tf.reshape(x, [batch, d]), w.lnFg!, w.lnFb!);
}

describe('SASRec encoder', () => {
  for (const [blocks, heads] of [
    [1, 1],
    [2, 1],
    [2, 2],
  ] as Array<[number, number]>)
    it(`gives the reference formulation's session states bit for bit (${blocks} blocks, ${heads} heads)`, async () => {
      await initBackend();
      const p: TrainParams = {
        model: 'sasrec',
        embeddingDim: 16,
        hiddenUnits: 24,
        maxLen: 6,
        epochs: 1,
        batchSize: 8,
        learningRate: 0.01,
        seed: 4,
        blocks,
        heads,
      };
      const items = 50;
      const w = initWeights('sasrec', items, p);
      const rnd = mulberry32(blocks * 10 + heads);
      const B = 9;
      const L = 5;
      // Left padding of 0–4 steps per row.
      const ids: number[] = [];
      const mask: number[] = [];
      for (let b = 0; b < B; b++) {
        const pad = b % L;
        for (let t = 0; t < L; t++) {
          ids.push(t < pad ? 0 : 1 + Math.floor(rnd() * items));
          mask.push(t < pad ? 0 : 1);
        }
      }
      const [got, want] = tf.tidy(() => {
        const idT = tf.tensor2d(ids, [B, L], 'int32');
        const maskT = tf.tensor2d(mask, [B, L]);
        return [
          sasrecEncoder.finalState(w, idT, maskT, p).dataSync(),
          referenceFinalState(w, idT, maskT, p).dataSync(),
        ];
      });
      expect(Array.from(got)).toEqual(Array.from(want));
      tf.dispose(Object.values(w));
    });
});
