import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { gruLayer } from './gru-encoder.js';
import { loadGru4Rec } from './neural-model.js';
import { trainGru4Rec } from './neural-trainer.js';
import { fusedKernels } from './tf-fused.js';
import { chains, SMALL_GRU4REC } from './test-helpers/chains.js';

const small = SMALL_GRU4REC;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

// The fused kernel exists on tfjs-node only: on another backend its comparison is skipped, visibly.
const { backend } = await initBackend();

describe('GRU cells', () => {
  it.runIf(backend !== 'tensorflow')('without native TensorFlow there is no fused kernel', () => {
    expect(fusedKernels()).toBeNull();
  });

  it.skipIf(backend !== 'tensorflow')(
    'the fused reset-before GRU (tfjs-node) gives the states and gradients of the ops one, with left padding',
    () => {
      const kernels = fusedKernels();
      expect(kernels).not.toBeNull();
      const [B, L, E, H] = [5, 4, 6, 7];
      const x = tf.randomNormal([B, L, E], 0, 1, 'float32', 1) as tf.Tensor3D;
      const w = {
        W: tf.randomNormal([E, 3 * H], 0, 0.5, 'float32', 2),
        U: tf.randomNormal([H, 3 * H], 0, 0.5, 'float32', 3),
        b: tf.randomNormal([3 * H], 0, 0.5, 'float32', 4),
      };
      // Rows of length 4, 1, 2, 3 and 4 (left padding); one more batch without padding.
      const lengths = [4, 1, 2, 3, 4];
      const mask = tf.tensor2d(
        lengths.flatMap((n) => Array.from({ length: L }, (_, t) => (t >= L - n ? 1 : 0))),
        [B, L],
      );
      for (const m of [mask, tf.onesLike(mask) as tf.Tensor2D]) {
        const probe = tf.randomNormal([B, H], 0, 1, 'float32', 5);
        const run = (k: typeof kernels) =>
          tf.grads((xx: tf.Tensor, W: tf.Tensor, U: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(gruLayer(xx as tf.Tensor3D, { W, U, b }, m, H, 'reset-before', k), probe)),
          )([x, w.W, w.U, w.b]);
        const state = (k: typeof kernels) => gruLayer(x, w, m, H, 'reset-before', k);
        expect(maxAbsDiff(state(kernels), state(null))).toBeLessThan(1e-5);
        const [fused, ops] = [run(kernels), run(null)];
        fused.forEach((g, i) => expect(maxAbsDiff(g, ops[i]!)).toBeLessThan(1e-4));
        // The reset-after cell is another function: the comparison can tell them apart.
        expect(maxAbsDiff(state(kernels), gruLayer(x, w, m, H, 'reset-after', null))).toBeGreaterThan(1e-3);
      }
    },
  );

  it('trains either cell and records it (params without a cell: reset-after, as before cells were recorded); both reload to identical answers', async () => {
    await initBackend();
    const train = chains(600, 4);
    const hs = [['i1'], ['i10', 'i73'], ['i5', 'i38', 'i5'], ['nope']];
    for (const cell of ['reset-before', undefined] as const) {
      const before = tf.memory().numTensors;
      const model = await trainGru4Rec({ train, params: { ...small, ...(cell ? { cell } : {}) } });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-cell-'));
      try {
        const losses = model.training!.losses;
        expect(losses[1]!).toBeLessThan(losses[0]!);
        await model.save(dir);
        const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { params: TrainParams };
        expect(config.params.cell).toBe(cell ?? 'reset-after');
        const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
        expect((json.modelTopology as { cell?: string }).cell).toBe(cell ?? 'reset-after');
        const loaded = await loadGru4Rec(dir);
        expect(loaded.recommendBatch(hs, 20)).toEqual(model.recommendBatch(hs, 20));
        loaded.dispose();
        // Training on from weights of another cell is refused.
        await expect(
          trainGru4Rec({
            train,
            params: { ...small, cell: cell ? 'reset-after' : 'reset-before' },
            initialWeightsDir: dir,
          }),
        ).rejects.toMatchObject({ code: 'BAD_INPUT' });
      } finally {
        await rm(dir, { recursive: true, force: true });
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
