import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSnapshot, TrainParams } from '@skiff/core';
import { readModelKind } from './artifact.js';
import { createTfjsTrainer, loadRecommender } from './create-tfjs-trainer.js';
import { evaluate } from './evaluate.js';
import { loadModelArtifact, trainBaseline } from './model-kinds.js';
import { createPopModel } from './pop.js';
import { readSessionTable } from './session-file.js';
import { trainSr } from './sr.js';
import { itemCounts } from './vocabulary.js';
import { trainVsknn } from './vsknn.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-baselines-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const ids = (list: Array<{ itemId: string }>) => list.map((r) => r.itemId);

describe('readSessionTable', () => {
  it('sorts events by (SessionId numerically, Time), groups them and keeps repeats', async () => {
    const f = path.join(tmp, 'split.txt');
    await writeFile(f, 'SessionId\tItemId\tTime\n10\tb\t5.5\n2\tx\t9\n10\ta\t1.25\n2\tx\t3\n2\ty\t4\n');
    expect(await readSessionTable(f)).toEqual({
      sessionIds: ['2', '10'],
      sessions: [
        ['x', 'y', 'x'],
        ['a', 'b'],
      ],
      lastTimes: [9, 5.5],
    });
  });
});

describe('SR', () => {
  it('adds 1/i rules from the previous `steps` items, prunes, and predicts from the last item', () => {
    const m = trainSr(
      [
        ['a', 'b', 'c'],
        ['a', 'b'],
        ['c', 'c'],
      ],
      { steps: 2 },
    );
    // a→b: 1 + 1, a→c: 1/2, b→c: 1, c→c: 1 (repeats give self-rules).
    expect(m.rulesOf('a')).toEqual([
      ['b', 2],
      ['c', 0.5],
    ]);
    expect(m.rulesOf('b')).toEqual([['c', 1]]);
    expect(m.rulesOf('c')).toEqual([['c', 1]]);
    // Only the last known item counts; scores / max; then the most popular items with score 0.
    expect(m.recommend(['c', 'a', 'unknown'], 4)).toEqual([
      { itemId: 'b', score: 1 },
      { itemId: 'c', score: 0.25 },
      { itemId: 'a', score: 0 },
    ]);
    expect(ids(m.recommend(['a'], 2, new Set(['b'])))).toEqual(['c', 'a']);
    expect(ids(m.recommend([], 2))).toEqual(['c', 'a']); // popularity: c 4, a 2, b 2 (ties by id)
    expect(trainSr([['a', 'b', 'c', 'd']], { steps: 3, pruning: 1 }).rulesOf('a')).toEqual([['b', 1]]);
    expect(m.recommendBatch([['a'], ['b']], 1)).toEqual([m.recommend(['a'], 1), m.recommend(['b'], 1)]);
  });
});

describe('V-SKNN', () => {
  // Sessions by time: s0 [a,b], s1 [b,c], s2 [c,d], s3 [a,e]. Popularity a,b,c 2; d,e 1.
  const train = [
    ['a', 'b'],
    ['b', 'c'],
    ['c', 'd'],
    ['a', 'e'],
  ];
  // Prefix [a, c], quadratic weights: pos(a) = (1/2)² = .25, pos(c) = 1; vec sim = Σ pos / 2:
  // s0 .125 (match a, step 2, decay 1/4), s1 .5 (c, step 1), s2 .5 (c, step 1), s3 .125 (a, step 2).
  it('scores neighbours with position weights and quadratic match decay (hand-computed)', () => {
    const m = trainVsknn(train);
    const r = m.recommend(['a', 'c'], 5);
    expect(ids(r)).toEqual(['c', 'b', 'd', 'a', 'e']);
    const score = Object.fromEntries(r.map((x) => [x.itemId, x.score]));
    expect(score.c).toBeCloseTo(1, 12);
    expect(score.b).toBeCloseTo(0.53125, 12);
    expect(score.d).toBeCloseTo(0.5, 12);
    expect(score.a).toBeCloseTo(0.0625, 12);
    expect(score.e).toBeCloseTo(0.03125, 12);
  });

  it('keeps the top-k neighbours, samples the most recent candidates, honours exclude and remind', () => {
    // k = 2: s1 and s2 only → c 1, b = d .5 (tie → more popular b), then popular fill a, e.
    expect(trainVsknn(train, { k: 2 }).recommend(['a', 'c'], 5)).toEqual([
      { itemId: 'c', score: 1 },
      { itemId: 'b', score: 0.5 },
      { itemId: 'd', score: 0.5 },
      { itemId: 'a', score: 0 },
      { itemId: 'e', score: 0 },
    ]);
    // sampleSize 2 → the two most recent sessions (s3, s2); with explicit times s0 and s2 (a = b tie → id order).
    expect(ids(trainVsknn(train, { sampleSize: 2 }).recommend(['a', 'c'], 4))).toEqual(['c', 'd', 'a', 'e']);
    expect(ids(trainVsknn(train, { sampleSize: 2 }, { lastTimes: [9, 1, 8, 2] }).recommend(['a', 'c'], 5))).toEqual([
      'c',
      'd',
      'a',
      'b',
      'e',
    ]);
    expect(ids(trainVsknn(train).recommend(['a', 'c'], 3, new Set(['c'])))).toEqual(['b', 'd', 'a']);
    expect(ids(trainVsknn(train, { remind: false }).recommend(['a', 'c'], 3))).toEqual(['b', 'd', 'e']);
    expect(ids(trainVsknn(train).recommend(['zzz'], 2))).toEqual(['a', 'b']);
  });

  it('cosine divides the weighted overlap by ‖pos‖·sqrt|n|', () => {
    const m = trainVsknn(
      [
        ['a', 'b', 'c'],
        ['c', 'd'],
      ],
      { similarity: 'cosine', k: 1 },
    );
    // Prefix [c]: sims s0 1/√3, s1 1/√2 → only s1 is kept.
    expect(ids(m.recommend(['c'], 2))).toEqual(['c', 'd']);
  });
});

describe('artifacts and the Trainer port', () => {
  const train = [
    ['a', 'b', 'c'],
    ['b', 'c', 'd'],
    ['a', 'c', 'd', 'c'],
    ['e', 'a', 'b'],
  ];

  it('saves POP, SR and V-SKNN as JSON and loads them back by kind, identically', async () => {
    for (const kind of ['pop', 'sr', 'vsknn'] as const) {
      const model = trainBaseline(kind, train);
      const dir = path.join(tmp, `art-${kind}`);
      const files = await model.save(dir);
      expect(files).toContain('config.json');
      expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({
        kind,
        params: expect.any(Object),
      });
      expect(await readModelKind(dir)).toBe(kind);
      const loaded = await loadRecommender(dir);
      expect(loaded.name).toBe(kind);
      const h = [['a'], ['b', 'c'], ['unknown'], []];
      expect(loaded.recommendBatch(h, 4)).toEqual(model.recommendBatch(h, 4));
      expect(loaded.vocabulary).toEqual(model.vocabulary);
    }
  });

  it('treats a config.json without kind as GRU4Rec and rejects unknown kinds', async () => {
    const legacy = path.join(tmp, 'legacy');
    const unknown = path.join(tmp, 'unknown');
    await Promise.all(
      [legacy, unknown].map((d) => import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }))),
    );
    await writeFile(path.join(legacy, 'config.json'), JSON.stringify({ params: {}, backend: 'wasm' }));
    await writeFile(path.join(unknown, 'config.json'), JSON.stringify({ kind: 'bert4rec', params: {} }));
    expect(await readModelKind(legacy)).toBe('gru4rec');
    // Dispatched to the GRU4Rec loader, which finds no model.json.
    await expect(loadModelArtifact(legacy)).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPTED',
      message: expect.stringMatching(/model\.json/),
    });
    await expect(loadModelArtifact(unknown)).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPTED',
      message: expect.stringMatching(/unknown model kind "bert4rec"/),
    });
  });

  it('trains a baseline kind from params.model and evaluates it next to POP and SR', async () => {
    const test = [
      ['a', 'b', 'c'],
      ['b', 'c', 'x', 'd'],
    ];
    const snapDir = path.join(tmp, 'snap');
    await import('node:fs/promises').then((fs) => fs.mkdir(snapDir, { recursive: true }));
    const files = {
      train: path.join(snapDir, 'train.json'),
      validation: path.join(snapDir, 'validation.json'),
      test: path.join(snapDir, 'test.json'),
    };
    await writeFile(files.train, JSON.stringify({ sessions: train }));
    await writeFile(files.validation, JSON.stringify({ sessions: [] }));
    await writeFile(files.test, JSON.stringify({ sessions: test }));
    const snapshot: DatasetSnapshot = {
      snapshotId: 'snap-test',
      loadIds: [],
      createdAt: new Date(0).toISOString(),
      dir: snapDir,
      files,
      counts: { train: train.length, validation: 0, test: test.length, items: 5 },
      splitTime: { validationStart: new Date(0).toISOString(), testStart: new Date(0).toISOString() },
    };
    const trainer = createTfjsTrainer();
    const counts = itemCounts(train);
    for (const kind of ['pop', 'sr', 'vsknn'] as const) {
      const params = {
        model: kind,
        embeddingDim: 8,
        hiddenUnits: 8,
        maxLen: 5,
        epochs: 1,
        batchSize: 8,
        learningRate: 0.01,
        seed: 1,
      };
      const progress: number[] = [];
      const out = await trainer.train({
        snapshot,
        params,
        outDir: path.join(tmp, `trained-${kind}`),
        onProgress: (p) => void progress.push(p.epoch ?? -1),
      });
      expect(out).toMatchObject({ backend: 'js', epochs: 1, losses: [] });
      expect(progress).toEqual([0, 1]);
      const ev = await trainer.evaluate({ snapshot, artifactDir: out.artifactDir });
      expect(ev.predictions).toBe(4); // 'x' removed: 2 + 2 targets
      expect(Object.keys(ev.baselines).sort()).toEqual(['pop', 'sr']);
      const direct = evaluate(trainBaseline(kind, train), test, { trainItemCounts: counts });
      expect(ev.metrics).toEqual(direct.metrics);
      if (kind === 'pop') expect(ev.metrics).toEqual(ev.baselines.pop);
      if (kind === 'sr') expect(ev.metrics).toEqual(ev.baselines.sr);
    }
    expect(evaluate(createPopModel(train), test).predictions).toBe(4);

    // The gate's evidence: baselines fitted and saved, the champion re-scored on the same points,
    // paired intervals for the candidate and each baseline against every other model.
    const sr = await trainer.train({
      snapshot,
      params: {
        model: 'sr',
        embeddingDim: 8,
        hiddenUnits: 8,
        maxLen: 5,
        epochs: 1,
        batchSize: 8,
        learningRate: 0.01,
        seed: 1,
      },
      outDir: path.join(tmp, 'cand'),
    });
    const pop = await trainer.train({
      snapshot,
      params: {
        model: 'pop',
        embeddingDim: 8,
        hiddenUnits: 8,
        maxLen: 5,
        epochs: 1,
        batchSize: 8,
        learningRate: 0.01,
        seed: 1,
      },
      outDir: path.join(tmp, 'champ'),
    });
    const gate = { metric: 'hr@20', confidence: 0.9, resamples: 200, seed: 1 };
    const g = await trainer.evaluate({
      snapshot,
      artifactDir: sr.artifactDir,
      baselines: ['pop', 'vsknn'],
      baselineDir: path.join(tmp, 'bl'),
      champion: { version: 'v0007', artifactDir: pop.artifactDir },
      gate,
    });
    expect(Object.keys(g.baselines)).toEqual(['pop', 'vsknn']);
    expect(g.baselineArtifacts).toEqual({ pop: path.join(tmp, 'bl', 'pop'), vsknn: path.join(tmp, 'bl', 'vsknn') });
    expect((await loadModelArtifact(g.baselineArtifacts!['vsknn']!)).name).toBe('vsknn');
    expect(g.comparison).toMatchObject({
      metric: 'hr@20',
      predictions: 4,
      models: {
        candidate: { role: 'candidate' },
        pop: { role: 'baseline' },
        vsknn: { role: 'baseline' },
        champion: { role: 'champion', version: 'v0007' },
      },
    });
    expect(g.comparison!.models['champion']!.value).toBe(g.baselines['pop']!['hr@20']);
    expect(g.comparison!.pairs.map((p) => `${p.a}-${p.b}`).sort()).toEqual([
      'candidate-champion',
      'candidate-pop',
      'candidate-vsknn',
      'pop-candidate',
      'pop-champion',
      'pop-vsknn',
      'vsknn-candidate',
      'vsknn-champion',
      'vsknn-pop',
    ]);
    // pop and the champion (also POP on the same data) are the same model: a paired difference of exactly 0.
    expect(g.comparison!.pairs.find((p) => p.a === 'pop' && p.b === 'champion')).toMatchObject({
      diff: 0,
      lo: 0,
      hi: 0,
    });
    // No metric on fewer prediction points than the minimum.
    await expect(trainer.evaluate({ snapshot, artifactDir: sr.artifactDir, minPredictions: 5 })).rejects.toMatchObject({
      code: 'DATA_QUALITY_FAILED',
      message: expect.stringMatching(/test split has 4 prediction points \(minimum 5\)/),
    });
    await expect(
      trainer.evaluate({ snapshot, artifactDir: sr.artifactDir, baselines: ['gru4rec'] }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(
      trainer.train({
        snapshot,
        params: {
          model: 'nope' as TrainParams['model'],
          embeddingDim: 8,
          hiddenUnits: 8,
          maxLen: 5,
          epochs: 1,
          batchSize: 8,
          learningRate: 0.01,
          seed: 1,
        },
        outDir: path.join(tmp, 'nope'),
      }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
