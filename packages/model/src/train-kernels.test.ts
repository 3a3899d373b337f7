import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { FlatAdam } from './flat-adam.js';
import { trainGru4Rec } from './neural-trainer.js';
import { layerNorm } from './sasrec-encoder.js';
import { sparseSoftmaxCrossEntropy } from './tf-fused.js';
import { chains } from './test-helpers/chains.js';

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('training kernels', () => {
  it('FlatAdam takes the steps of Adam (TensorFlow/Keras form) on every weight, whatever its shape', async () => {
    await initBackend();
    const a = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25, 0, 3], [2, 3]));
    const b = tf.variable(tf.tensor1d([1, -2]));
    const target = [1.5, 0.5, -1, 2, 1, 0, 0.3, -0.7];
    const before = tf.memory().numTensors;
    const opt = new FlatAdam([a, b], 0.1);
    // Reference in double precision: loss = Σ (w − target)² · (i + 1), gradient 2 (w − target)(i + 1).
    const w = [...a.dataSync(), ...b.dataSync()];
    const m = w.map(() => 0);
    const v = w.map(() => 0);
    for (let t = 1; t <= 3; t++) {
      const loss = opt.minimize(() => {
        const flat = tf.concat([tf.reshape(a, [-1]), b]);
        return tf.sum(tf.mul(tf.square(tf.sub(flat, target)), tf.range(1, 9))) as tf.Scalar;
      });
      loss.dispose();
      const alpha = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      w.forEach((x, i) => {
        const g = 2 * (x - target[i]!) * (i + 1);
        m[i] = 0.9 * m[i]! + 0.1 * g;
        v[i] = 0.999 * v[i]! + 0.001 * g * g;
        w[i] = x - (alpha * m[i]!) / (Math.sqrt(v[i]!) + 1e-7);
      });
    }
    const got = [...a.dataSync(), ...b.dataSync()];
    got.forEach((x, i) => expect(x).toBeCloseTo(w[i]!, 5));
    expect(a.shape).toEqual([2, 3]);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('FlatAdam leaves a weight that the loss does not reach where it was (a zero gradient), and frees what it made', async () => {
    await initBackend();
    const used = tf.variable(tf.tensor1d([1, 2]));
    const unused = tf.variable(tf.tensor2d([[3, 4]]));
    const before = tf.memory().numTensors;
    const opt = new FlatAdam([used, unused], 0.1);
    for (let t = 0; t < 2; t++) opt.minimize(() => tf.sum(tf.square(used)) as tf.Scalar).dispose();
    expect([...unused.dataSync()]).toEqual([3, 4]);
    expect(used.dataSync()[0]).toBeLessThan(1);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([used, unused]);
  });

  it("LayerNorm's closed-form gradient equals autodiff of its ops", async () => {
    await initBackend();
    const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6))), g), b);
    };
    const x = tf.randomNormal([3, 4, 8], 0, 2, 'float32', 1);
    const g = tf.randomNormal([8], 1, 0.3, 'float32', 2);
    const b = tf.randomNormal([8], 0, 0.3, 'float32', 3);
    const probe = tf.randomNormal([3, 4, 8], 0, 1, 'float32', 4);
    const grads = (f: typeof plain) =>
      tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, gg, bb), probe)))([x, g, b]);
    expect(maxAbsDiff(layerNorm(x, g, b), plain(x, g, b))).toBe(0);
    const [mine, auto] = [grads(layerNorm), grads(plain)];
    mine.forEach((t, i) => expect(maxAbsDiff(t, auto[i]!)).toBeLessThan(1e-4));
  });

  it('sparse softmax cross-entropy (fused on tfjs-node) has the value and gradient of the one-hot form', async () => {
    await initBackend();
    const logits = tf.randomNormal([6, 5], 0, 2, 'float32', 7) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 4, 2, 2, 1, 3], 'int32');
    const dense = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), l);
    const sparse = (l: tf.Tensor) => sparseSoftmaxCrossEntropy(l as tf.Tensor2D, labels);
    expect(maxAbsDiff(sparse(logits), dense(logits))).toBeLessThan(1e-5);
    expect(maxAbsDiff(tf.grad(sparse)(logits), tf.grad(dense)(logits))).toBeLessThan(1e-5);
  });

  it('negatives ≥ items trains the full softmax (every item a candidate), with and without the repeat term', async () => {
    await initBackend();
    const train = chains(300, 9);
    const params: TrainParams = {
      model: 'gru4rec',
      embeddingDim: 8,
      hiddenUnits: 8,
      maxLen: 5,
      epochs: 2,
      batchSize: 64,
      learningRate: 0.02,
      seed: 3,
      negatives: 1000,
    };
    for (const repeatWindow of [0, 3]) {
      const model = await trainGru4Rec({ train, params: { ...params, repeatWindow } });
      const [l0, l1] = model.training!.losses;
      // The full softmax over ~120 items starts near ln(120) ≈ 4.8.
      expect(l0!).toBeGreaterThan(4);
      expect(l1!).toBeLessThan(l0!);
      expect(model.recommend(['i3'], 5)).toHaveLength(5);
      model.dispose();
    }
  });
});
