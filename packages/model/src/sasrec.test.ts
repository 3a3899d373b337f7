import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { evaluate } from './evaluate.js';
import { loadGru4Rec } from './neural-model.js';
import { trainGru4Rec } from './neural-trainer.js';
import { loadModelArtifact } from './model-kinds.js';
import { createPopModel } from './pop.js';
import { chains } from './test-helpers/chains.js';
import { sasrecEncoder } from './sasrec-encoder.js';

const small: TrainParams = {
  model: 'sasrec',
  embeddingDim: 16,
  hiddenUnits: 32,
  maxLen: 6,
  epochs: 3,
  batchSize: 64,
  learningRate: 0.01,
  seed: 11,
  blocks: 2,
  heads: 2,
};

describe('SASRec-style model', () => {
  it('learns a sequential pattern far better than popularity, and saves/loads to identical answers', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const train = chains(1500, 1);
    const test = chains(300, 2);
    const model = await trainGru4Rec({ train, params: small });
    expect(model.name).toBe('sasrec');
    const ours = evaluate(model, test, { ks: [1, 5] }).metrics;
    const pop = evaluate(createPopModel(train), test, { ks: [1, 5] }).metrics;
    console.log(
      `[sasrec chains] hr@1 ${ours['hr@1']!.toFixed(3)} hr@5 ${ours['hr@5']!.toFixed(3)} (pop hr@5 ${pop['hr@5']!.toFixed(3)})`,
    );
    // 80 % of next items follow the rule: a model that learned it gets most of them at rank 1.
    expect(ours['hr@1']).toBeGreaterThan(0.6);
    expect(ours['hr@5']).toBeGreaterThan(pop['hr@5']! + 0.4);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sasrec-'));
    try {
      await model.save(dir);
      const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      expect(json.format).toBe('skiff-sasrec');
      const names = json.weightsManifest[0]!.weights.map((w) => w.name);
      expect(names.slice(0, 3)).toEqual(['itemEmb', 'posEmb', 'block0_ln1g']);
      expect(names).toContain('block1_W2');
      expect(names.slice(-4)).toEqual(['lnFg', 'lnFb', 'outEmb', 'outBias']);
      // Serving loads any artifact by its kind.
      const loaded = await loadModelArtifact(dir);
      expect(loaded.name).toBe('sasrec');
      const hs = [['i1'], ['i10', 'i73'], ['i5', 'i38', 'i5', 'i38', 'i5', 'i38', 'i5'], ['nope']];
      expect(loaded.recommendBatch(hs, 10)).toEqual(model.recommendBatch(hs, 10));
      (loaded as Awaited<ReturnType<typeof loadGru4Rec>>).dispose();

      // A config that no longer matches the weights (another block count) is refused, not served.
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { params: TrainParams };
      await writeFile(
        path.join(dir, 'config.json'),
        JSON.stringify({ ...config, params: { ...config.params, blocks: 3 } }),
      );
      await expect(loadGru4Rec(dir)).rejects.toMatchObject({
        code: 'ARTIFACT_CORRUPTED',
        message: expect.stringContaining('block2_ln1g missing'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a session state ignores padding: same answer alone or next to a longer session, whatever the padded ids', async () => {
    await initBackend();
    const model = await trainGru4Rec({ train: chains(400, 3), params: { ...small, epochs: 1 } });
    const h = ['i3', 'i24'];
    const alone = model.recommend(h, 10);
    const batched = model.recommendBatch([h, ['i1', 'i10', 'i73', 'i32', 'i5']], 10)[0]!;
    expect(batched.map((r) => r.itemId)).toEqual(alone.map((r) => r.itemId));
    batched.forEach((r, i) => expect(r.score).toBeCloseTo(alone[i]!.score, 4));
    model.dispose();

    // The encoder itself: ids under mask 0 do not matter, and the state is finite.
    const p: TrainParams = { ...small, embeddingDim: 8, hiddenUnits: 8, maxLen: 4 };
    const w = tf.tidy(() => ({ itemEmb: tf.randomNormal([10, 8], 0, 1, 'float32', 1), ...sasrecEncoder.init(p) }));
    const state = (ids: number[]) =>
      tf.tidy(
        () =>
          sasrecEncoder
            .finalState(w, tf.tensor2d(ids, [1, 4], 'int32'), tf.tensor2d([0, 0, 1, 1], [1, 4]), p)
            .arraySync()[0]!,
      );
    const a = state([0, 0, 5, 6]);
    const b = state([7, 3, 5, 6]);
    a.forEach((v, i) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeCloseTo(b[i]!, 5);
    });
    // …while the real items do matter, in order.
    const c = state([0, 0, 6, 5]);
    expect(c.some((v, i) => Math.abs(v - a[i]!) > 1e-3)).toBe(true);
    tf.dispose(Object.values(w));
  });

  it('refuses heads that do not divide the width', async () => {
    await expect(
      trainGru4Rec({ train: chains(50, 4), params: { ...small, embeddingDim: 10, heads: 3 } }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('heads (3) must divide embeddingDim (10)'),
    });
  });
});
