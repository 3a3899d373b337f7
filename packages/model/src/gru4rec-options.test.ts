import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TrainParamsSchema, type DatasetSnapshot } from '@skiff/core';
import { initBackend } from './backend.js';
import { createTfjsTrainer } from './create-tfjs-trainer.js';
import { evaluate } from './evaluate.js';
import { loadGru4Rec } from './neural-model.js';
import { trainGru4Rec } from './neural-trainer.js';
import { resolveGru4RecParams } from './neural-weights.js';
import { mulberry32 } from './random.js';
import { chains, SMALL_GRU4REC } from './test-helpers/chains.js';

const small = SMALL_GRU4REC;

/** A snapshot of chains() split files in `dir`: train, then validation and test of equal size. */
async function chainSnapshot(dir: string, train: number, heldOut: number): Promise<DatasetSnapshot> {
  const write = async (name: string, sessions: string[][]) => {
    const f = path.join(dir, `${name}.json`);
    await writeFile(f, JSON.stringify({ sessions }));
    return f;
  };
  return {
    snapshotId: 's',
    loadIds: [],
    createdAt: new Date(0).toISOString(),
    dir,
    files: {
      train: await write('train', chains(train, 5)),
      validation: await write('validation', chains(heldOut, 6)),
      test: await write('test', chains(heldOut, 7)),
    },
    counts: { train, validation: heldOut, test: heldOut, items: 120 },
    splitTime: { validationStart: new Date(0).toISOString(), testStart: new Date(0).toISOString() },
  };
}

/** Sessions that start at a random item and then click it again and again: the next item is always the last one. */
function repeats(sessions: number, items: number, seed: number): string[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: sessions }, () => {
    const x = `i${Math.floor(rnd() * items)}`;
    return Array.from({ length: 2 + Math.floor(rnd() * 4) }, () => x);
  });
}

describe('GRU4Rec options', () => {
  it('resolves the later-added options to the original model when absent (old configs parse unchanged)', () => {
    const old = TrainParamsSchema.parse({
      model: 'gru4rec',
      embeddingDim: 64,
      hiddenUnits: 64,
      maxLen: 10,
      epochs: 3,
      batchSize: 128,
      learningRate: 0.005,
      seed: 42,
    });
    expect(old).not.toHaveProperty('repeatWindow');
    expect(resolveGru4RecParams(old)).toMatchObject({ negatives: 64, repeatWindow: 0, dropout: 0, patience: 0 });
    // Extra documentation keys in a config file ($comment, $meta) are dropped, not rejected.
    const withMeta = TrainParamsSchema.parse({
      $comment: 'chosen on validation',
      $meta: { date: 'x' },
      repeatWindow: 10,
      dropout: 0.5,
      negatives: 2048,
      patience: 2,
    });
    expect(withMeta).toMatchObject({ repeatWindow: 10, dropout: 0.5, negatives: 2048, patience: 2 });
    expect(withMeta).not.toHaveProperty('$comment');
    expect(TrainParamsSchema.safeParse({ dropout: 1.5 }).success).toBe(false);
  });

  it('trains on a batch whose prefixes all have one item (a one-step GRU: the last, partial batch can be one)', async () => {
    await initBackend();
    // Sessions of two clicks: every training prefix has one item, so every batch has one step.
    const train = Array.from({ length: 200 }, (_, i) => [`i${i % 40}`, `i${(i * 7 + 1) % 40}`]);
    for (const kind of ['gru4rec', 'sasrec'] as const) {
      const model = await trainGru4Rec({ train, params: { ...small, model: kind, epochs: 1, negatives: 16 } });
      expect(Number.isFinite(model.training!.losses[0]!)).toBe(true);
      expect(model.recommend(['i1'], 5)).toHaveLength(5);
      model.dispose();
    }
  });

  it('the repeat term learns "the last item comes again": top-1 on unseen sessions', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const train = repeats(1500, 400, 1);
    const test = repeats(300, 400, 2);
    const withRepeat = await trainGru4Rec({ train, params: { ...small, repeatWindow: 3, negatives: 256 } });
    const without = await trainGru4Rec({ train, params: { ...small, negatives: 256 } });
    const hr1 = evaluate(withRepeat, test, { ks: [1] }).metrics['hr@1']!;
    const hr1Without = evaluate(without, test, { ks: [1] }).metrics['hr@1']!;
    console.log(`[repeat term] hr@1 with ${hr1.toFixed(3)}, without ${hr1Without.toFixed(3)}`);
    expect(hr1).toBeGreaterThan(0.95);
    expect(hr1).toBeGreaterThan(hr1Without);
    // Exclusions and batch/single parity hold with the repeat term too.
    const h = ['i3', 'i3'];
    expect(withRepeat.recommend(h, 5)[0]!.itemId).toBe('i3');
    expect(withRepeat.recommend(h, 5).map((r) => r.itemId)).toEqual(
      withRepeat.recommendBatch([h], 5)[0]!.map((r) => r.itemId),
    );
    expect(withRepeat.recommend(h, 5, new Set(['i3'])).map((r) => r.itemId)).not.toContain('i3');

    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-repeat-'));
    try {
      await withRepeat.save(dir);
      const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      delete (json.modelTopology as { cell?: string }).cell;
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
        'itemEmb',
        'W',
        'U',
        'b',
        'outEmb',
        'outBias',
        'repeatVec',
        'repeatBias',
      ]);
      const loaded = await loadGru4Rec(dir);
      const hs = [h, ['i1', 'i2', 'i1'], ['i9']];
      expect(loaded.recommendBatch(hs, 10)).toEqual(withRepeat.recommendBatch(hs, 10));
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    withRepeat.dispose();
    without.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const train = chains(800, 3);
    const probe = [['i1'], ['i10', 'i73'], ['i5', 'i38', 'i5']];
    const scripted = [0.1, 0.5, 0.4, 0.45, 0.9, 0.9];
    const snapshots: Array<ReturnType<typeof JSON.stringify>> = [];
    const epochs: number[] = [];
    const model = await trainGru4Rec({
      train,
      params: { ...small, epochs: 6, patience: 2, repeatWindow: 2, dropout: 0.2 },
      validate: (m, epoch) => {
        snapshots.push(JSON.stringify(m.recommendBatch(probe, 10)));
        return scripted[epoch]!;
      },
      onEpochEnd: (e) => void epochs.push(e.epoch),
    });
    // Best after epoch 1 (0.5); epochs 2 and 3 do not beat it → stop after epoch 3.
    expect(epochs).toEqual([0, 1, 2, 3]);
    expect(model.training!.losses).toHaveLength(4);
    expect(model.training!.validationScores).toEqual([0.1, 0.5, 0.4, 0.45]);
    expect(model.training!.bestEpoch).toBe(1);
    expect(model.training!.stoppedEarly).toBe(true);
    expect(snapshots[3]).not.toEqual(snapshots[1]);
    expect(JSON.stringify(model.recommendBatch(probe, 10))).toEqual(snapshots[1]);
    model.dispose();

    // Without patience, validate only reports: every epoch runs and the last weights are kept.
    const all = await trainGru4Rec({
      train,
      params: { ...small, epochs: 3 },
      validate: (_m, e) => [0.5, 0.1, 0.1][e]!,
    });
    expect(all.training!.losses).toHaveLength(3);
    expect(all.training!.bestEpoch).toBeUndefined();
    all.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads an artifact in the format from before the new options (no kind, no repeat weights) and serves it identically', async () => {
    await initBackend();
    const train = chains(600, 4);
    // The first releases had only the reset-after cell and did not record it.
    const model = await trainGru4Rec({ train, params: { ...small, cell: 'reset-after' } });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-old-'));
    try {
      await model.save(dir);
      // Rewrite config.json the way the first releases wrote it: no kind, params without the new fields.
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
        kind?: string;
        params: Record<string, unknown>;
      };
      delete config.kind;
      delete config.params['cell'];
      expect(Object.keys(config.params).sort()).toEqual([
        'batchSize',
        'embeddingDim',
        'epochs',
        'hiddenUnits',
        'learningRate',
        'maxLen',
        'model',
        'seed',
      ]);
      await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
      const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      delete (json.modelTopology as { cell?: string }).cell;
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
        'itemEmb',
        'W',
        'U',
        'b',
        'outEmb',
        'outBias',
      ]);
      const loaded = await loadGru4Rec(dir);
      const hs = [['i1'], ['i10', 'i73'], ['i5', 'i38', 'i5'], ['nope']];
      expect(loaded.recommendBatch(hs, 20)).toEqual(model.recommendBatch(hs, 20));
      expect(loaded.recommend(hs[1]!, 20)).toEqual(model.recommend(hs[1]!, 20));
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('Trainer: with patience the epochs are chosen on validation, then the model is refitted on train + validation for that many', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-es-trainer-'));
    try {
      const snapshot = await chainSnapshot(dir, 600, 150);
      const out = await createTfjsTrainer().train({
        snapshot,
        params: { ...small, epochs: 8, learningRate: 0.05, patience: 1, repeatWindow: 3 },
        outDir: path.join(dir, 'model'),
      });
      const sel = out.selection!;
      expect(sel.epochsRun).toBeGreaterThanOrEqual(2);
      expect(sel.epochsRun).toBeLessThanOrEqual(8);
      expect(sel.validation.map((v) => v.epoch)).toEqual(Array.from({ length: sel.epochsRun }, (_, i) => i + 1));
      expect(out.validation).toEqual(sel.validation);
      // The chosen epoch is the best validation score's; the refit trains exactly that many epochs.
      const best = sel.validation.reduce((b, v) => (v['hr@20'] + v['mrr@20'] > b['hr@20'] + b['mrr@20'] ? v : b));
      expect(sel.chosenEpochs).toBe(best.epoch);
      expect(out.epochs).toBe(sel.chosenEpochs);
      expect(out.losses).toHaveLength(sel.chosenEpochs);
      expect(sel).toMatchObject({ trainSessions: 600, validationSessions: 150 });
      const loaded = await loadGru4Rec(path.join(dir, 'model'));
      expect(loaded.recommend(['i1'], 5)).toHaveLength(5);
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Two trainings (selection, then the refit): twice the default budget.
  }, 120_000);
  it('Trainer selectOnly (one candidate of several): trains on train, scores validation, writes no artifact; an interrupted run resumes with its whole validation curve', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-select-only-'));
    try {
      const snapshot = await chainSnapshot(dir, 400, 100);
      const params = { ...small, epochs: 4, learningRate: 0.05 };
      const trainer = createTfjsTrainer();
      const full = await trainer.train({ snapshot, params, outDir: path.join(dir, 'a'), selectOnly: true });
      // Without patience every epoch runs and is scored; the last is the chosen one.
      expect(full.selection).toMatchObject({
        epochsRun: 4,
        chosenEpochs: 4,
        trainSessions: 400,
        validationSessions: 100,
      });
      expect(full.selection!.validation.map((v) => v.epoch)).toEqual([1, 2, 3, 4]);
      expect(full.files).toEqual([]);
      // The same folder reused by a later run with other params (a rerun of the workflow id): the
      // saved selection belongs to the earlier params and is redone, not reused.
      const rerun = await trainer.train({
        snapshot,
        params: { ...params, epochs: 2 },
        outDir: path.join(dir, 'a'),
        selectOnly: true,
      });
      expect(rerun.selection!.validation.map((v) => v.epoch)).toEqual([1, 2]);
      await expect(readFile(path.join(dir, 'a', 'model.json'))).rejects.toThrow();

      // Stop after two epochs (as a killed worker would), then run again on the same folder.
      const stop = new AbortController();
      const interrupted = await trainer
        .train({
          snapshot,
          params,
          outDir: path.join(dir, 'b'),
          selectOnly: true,
          signal: stop.signal,
          onProgress: (p) => {
            if (p.stage === 'validate' && p.epoch === 2) stop.abort();
          },
        })
        .then(
          () => 'finished',
          (e: Error) => e.message,
        );
      expect(interrupted).toMatch(/cancelled/);
      const resumed = await trainer.train({ snapshot, params, outDir: path.join(dir, 'b'), selectOnly: true });
      expect(resumed.selection!.validation.map((v) => v.epoch)).toEqual([1, 2, 3, 4]);
      // The epochs before the interruption are reported as they were scored (from the checkpoint's
      // record); the later ones are trained afresh from the checkpoint (the optimizer's moments are
      // not checkpointed, so they can differ slightly from an uninterrupted run's).
      expect(resumed.selection!.validation.slice(0, 2)).toEqual(full.selection!.validation.slice(0, 2));

      const vsknn = await trainer.train({
        snapshot,
        params: TrainParamsSchema.parse({ model: 'vsknn' }),
        outDir: path.join(dir, 'c'),
        selectOnly: true,
      });
      expect(vsknn.selection!.validation).toHaveLength(1);
      expect(vsknn.selection!.validation[0]!['hr@20']).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
