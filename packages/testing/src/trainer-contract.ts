import { cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { EvaluateOutput, Metrics, Progress, Recommender, Trainer, TrainOutput, TrainParams } from '@skiff/core';
import { contractCase, type ContractSuiteOptions } from './contract-cases.js';
import { writeContractSnapshot, type ContractSnapshot } from './contract-snapshot.js';
import { expectValidRecommendations, recommenderContractChecks } from './recommender-contract.js';

/** A recommender loaded from an artifact folder; `dispose` frees what it holds (tensors…). */
export type LoadedRecommender = Recommender & { dispose?(): void };

/** What a trainer adapter hands the contract suite (made once for the suite). */
export interface TrainerHarness {
  trainer: Trainer;
  /** Params of a small, fast run (seconds): `TrainParamsSchema.parse({ model, epochs: 2, … })`. */
  params: TrainParams;
  /** Loads an artifact folder written by `train` the way serving does (e.g. `loadRecommender`). */
  load(artifactDir: string): Promise<LoadedRecommender>;
  cleanup?(): Promise<void>;
}

/** The cases of `describeTrainerContract`, by key (what `knownFailures` names). */
export const TRAINER_CONTRACT_CASES = {
  train:
    'train writes an artifact folder under outDir and returns its files, the backend, epochs and losses (JSON-serialisable)',
  progress:
    'onProgress is called at least once per epoch with the epochs done (and its loss when losses are reported), never going back',
  evaluate:
    'evaluate returns hr@k/mrr@k in [0,1] for every k asked, baselines (at least pop), and the number of predictions',
  protocol:
    'evaluate scores the trained artifact at every position of every test session, over the items of train + validation (the refit training set)',
  seed: 'the same params and seed give the same metrics',
  artifact: 'the artifact folder is self-contained: a copy elsewhere evaluates and loads the same',
  recommender: 'the artifact loads as a Recommender: at most k items, no duplicates, only items of the training data',
  abort: 'aborting the signal during training stops it with an error',
  abortedBefore: 'a signal aborted before train is called stops training with an error',
  retry: 'a retry into the same outDir after an interrupted attempt completes',
  missingArtifact: 'evaluate refuses a folder that holds no artifact',
} as const;
export type TrainerContractCase = keyof typeof TRAINER_CONTRACT_CASES;

export type TrainerContractOptions = ContractSuiteOptions<TrainerContractCase>;

const KS = [5, 20];

/**
 * The prediction points of the protocol: test items unknown to training removed, then (prefix → next
 * item) at every position. Deliberately a second, independent implementation of the protocol (the
 * model package's `evaluate` does the same): the suite checks a trainer's reported metrics against
 * it, so it must not call the code under test, and @skiff/testing does not depend on @skiff/model.
 */
export function predictionPoints(
  train: ReadonlyArray<readonly string[]>,
  test: ReadonlyArray<readonly string[]>,
): { prefixes: string[][]; targets: string[] } {
  const known = new Set(train.flat());
  const prefixes: string[][] = [];
  const targets: string[] = [];
  for (const raw of test) {
    const s = raw.filter((i) => known.has(i));
    for (let i = 1; i < s.length; i++) {
      prefixes.push(s.slice(0, i));
      targets.push(s[i]!);
    }
  }
  return { prefixes, targets };
}

/**
 * HR@k and MRR@k of `model` by the evaluation protocol (docs/design.md, Models and evaluation): test items unknown to the
 * training data are removed, then every position i ≥ 1 of every test session is a prediction of
 * item i from the prefix before it.
 */
export function protocolMetrics(
  model: Recommender,
  train: ReadonlyArray<readonly string[]>,
  test: ReadonlyArray<readonly string[]>,
  ks: number[],
): { metrics: Metrics; predictions: number } {
  const { prefixes, targets } = predictionPoints(train, test);
  const lists = prefixes.length ? model.recommendBatch(prefixes, Math.max(...ks)) : [];
  const metrics: Metrics = {};
  for (const k of ks) {
    let hr = 0;
    let mrr = 0;
    lists.forEach((list, j) => {
      const rank = list.slice(0, k).findIndex((r) => r.itemId === targets[j]);
      if (rank >= 0) {
        hr++;
        mrr += 1 / (rank + 1);
      }
    });
    metrics[`hr@${k}`] = prefixes.length ? hr / prefixes.length : 0;
    metrics[`mrr@${k}`] = prefixes.length ? mrr / prefixes.length : 0;
  }
  return { metrics, predictions: prefixes.length };
}

function expectRankingMetrics(m: Metrics, label: string): void {
  for (const k of KS) {
    for (const name of [`hr@${k}`, `mrr@${k}`]) {
      const v = m[name];
      expect(typeof v === 'number' && Number.isFinite(v), `${label}: ${name} is a finite number (${v})`).toBe(true);
      expect(v!, `${label}: ${name} ≥ 0`).toBeGreaterThanOrEqual(0);
      expect(v!, `${label}: ${name} ≤ 1`).toBeLessThanOrEqual(1);
    }
    expect(m[`mrr@${k}`]!, `${label}: mrr@${k} ≤ hr@${k}`).toBeLessThanOrEqual(m[`hr@${k}`]! + 1e-12);
  }
  expect(m['hr@5']!, `${label}: hr@5 ≤ hr@20`).toBeLessThanOrEqual(m['hr@20']! + 1e-12);
  expect(m['mrr@5']!, `${label}: mrr@5 ≤ mrr@20`).toBeLessThanOrEqual(m['mrr@20']! + 1e-12);
}

const within = (dir: string, p: string) => {
  const rel = path.relative(path.resolve(dir), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * The behaviour every `Trainer` adapter must have (ports.ts): train a snapshot into a
 * self-contained artifact folder with per-epoch progress (Temporal heartbeats) and cancellation,
 * evaluate it by the shared protocol next to baselines, deterministically for a seed, and load it
 * as a Recommender. The suite writes its own small snapshot (400 training sessions, 40 items) and
 * trains about four times with `params`, so keep them small.
 * @example
 * describeTrainerContract('tfjs gru4rec', async () => ({
 *   trainer: createTfjsTrainer(),
 *   params: TrainParamsSchema.parse({ model: 'gru4rec', epochs: 2, embeddingDim: 16, hiddenUnits: 16, batchSize: 64 }),
 *   load: (dir) => loadRecommender(dir),
 * }));
 */
export function describeTrainerContract(
  name: string,
  makeTrainer: () => Promise<TrainerHarness>,
  options: TrainerContractOptions = {},
): void {
  const suite = options.skip ? describe.skip : describe;
  const title = options.skip ? `Trainer contract: ${name} (SKIPPED: ${options.skip})` : `Trainer contract: ${name}`;
  const test = contractCase<TrainerContractCase>(options.knownFailures);
  const C = TRAINER_CONTRACT_CASES;

  suite(title, () => {
    let tmp: string;
    let h: TrainerHarness;
    let data: ContractSnapshot;
    /** What the evaluated model is trained on (select on validation, then refit on train + validation). */
    const refitSet = () => [...data.train, ...data.validation];
    let out: TrainOutput;
    let outDir: string;
    let progress: Progress[];
    let ev: EvaluateOutput;
    const loaded: LoadedRecommender[] = [];
    let runs = 0;
    const newOutDir = () => path.join(tmp, `run-${++runs}`);
    const load = async (dir: string) => {
      const r = await h.load(dir);
      loaded.push(r);
      return r;
    };

    beforeAll(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-trainer-contract-'));
      h = await makeTrainer();
      data = await writeContractSnapshot(path.join(tmp, 'snapshot'));
      progress = [];
      outDir = newOutDir();
      out = await h.trainer.train({
        snapshot: data.snapshot,
        params: h.params,
        outDir,
        onProgress: (p) => void progress.push(structuredClone(p)),
      });
      ev = await h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: out.artifactDir, ks: KS });
    });
    afterAll(async () => {
      for (const r of loaded) r.dispose?.();
      await h?.cleanup?.();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    test('train', C.train, async () => {
      expect(within(outDir, out.artifactDir), `${out.artifactDir} is under outDir ${outDir}`).toBe(true);
      expect((await stat(out.artifactDir)).isDirectory()).toBe(true);
      expect(out.files.length).toBeGreaterThan(0);
      expect(new Set(out.files).size).toBe(out.files.length);
      for (const f of out.files)
        expect((await stat(path.join(out.artifactDir, f))).isFile(), `${f} exists in the artifact folder`).toBe(true);
      expect(typeof out.backend === 'string' && out.backend.length > 0).toBe(true);
      expect(Number.isInteger(out.epochs) && out.epochs >= 1).toBe(true);
      for (const l of out.losses) expect(Number.isFinite(l)).toBe(true);
      expect([0, out.epochs]).toContain(out.losses.length);
      for (const v of out.validation ?? []) {
        expect(v.epoch).toBeGreaterThanOrEqual(1);
        // Validation points come from model selection, which may run past the chosen (refit) epochs.
        expect(v.epoch).toBeLessThanOrEqual(out.selection?.epochsRun ?? out.epochs);
        for (const m of [v['hr@20'], v['mrr@20']]) expect(m >= 0 && m <= 1).toBe(true);
      }
      expect(Number.isFinite(out.samplesPerSecond) && out.samplesPerSecond >= 0).toBe(true);
      expect(Number.isFinite(out.trainSeconds) && out.trainSeconds >= 0).toBe(true);
      expect(out.resumedFromEpoch ?? 0).toBe(0);
      // It travels as a Temporal activity result.
      expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    });

    test('progress', C.progress, () => {
      expect(progress.length).toBeGreaterThanOrEqual(out.epochs);
      for (const p of progress) {
        expect(typeof p.stage === 'string' && p.stage.length > 0).toBe(true);
        if (p.epochs !== undefined) expect(p.epochs).toBe(out.epochs);
        if (p.loss !== undefined) expect(Number.isFinite(p.loss)).toBe(true);
      }
      expect(JSON.parse(JSON.stringify(progress))).toEqual(progress);
      for (let e = 1; e <= out.epochs; e++) {
        expect(
          progress.some((p) => p.epoch === e),
          `a progress report after epoch ${e}`,
        ).toBe(true);
        if (out.losses.length) {
          const withLoss = progress.filter((p) => p.epoch === e && p.loss !== undefined);
          expect(withLoss.length, `epoch ${e} reports its loss`).toBeGreaterThan(0);
          expect(withLoss[withLoss.length - 1]!.loss!).toBeCloseTo(out.losses[e - 1]!, 6);
        }
      }
      // Heartbeats carry the resume point: it never goes back.
      const epochs = progress.flatMap((p) => (p.epoch === undefined ? [] : [p.epoch]));
      expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
      expect(Math.max(...epochs)).toBe(out.epochs);
    });

    test('evaluate', C.evaluate, () => {
      expectRankingMetrics(ev.metrics, 'model');
      expect(ev.baselines['pop'], 'baselines.pop').toBeDefined();
      for (const [b, m] of Object.entries(ev.baselines)) {
        expectRankingMetrics(m, `baseline ${b}`);
        for (const v of Object.values(m)) expect(Number.isFinite(v)).toBe(true);
      }
      // 40 items, top 20: any ranking of the training items hits some of the time.
      expect(ev.metrics['hr@20']!).toBeGreaterThan(0);
      expect(ev.baselines['pop']!['hr@20']!).toBeGreaterThan(0);
      // One prediction per position of every test session (test-only items removed first).
      expect(ev.predictions).toBe(predictionPoints(refitSet(), data.test).targets.length);
      expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
    });

    test('protocol', C.protocol, async () => {
      const model = await load(out.artifactDir);
      const ours = protocolMetrics(model, refitSet(), data.test, KS);
      expect(ev.predictions).toBe(ours.predictions);
      for (const [k, v] of Object.entries(ours.metrics)) expect(ev.metrics[k], k).toBeCloseTo(v, 6);
    });

    test('seed', C.seed, async () => {
      const again = await h.trainer.train({ snapshot: data.snapshot, params: h.params, outDir: newOutDir() });
      const ev2 = await h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: again.artifactDir, ks: KS });
      expect(ev2.metrics).toEqual(ev.metrics);
      expect(again.losses).toEqual(out.losses);
    });

    test('artifact', C.artifact, async () => {
      const copy = path.join(tmp, 'copied-artifact');
      await cp(out.artifactDir, copy, { recursive: true });
      // Move the original away while the copy is used: nothing may point back into it.
      const away = `${out.artifactDir}.moved`;
      await rename(out.artifactDir, away);
      try {
        for (const f of out.files) expect((await stat(path.join(copy, f))).isFile()).toBe(true);
        const ev2 = await h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: copy, ks: KS });
        expect(ev2.metrics).toEqual(ev.metrics);
        const model = await load(copy);
        expect(protocolMetrics(model, refitSet(), data.test, KS).predictions).toBe(ev.predictions);
      } finally {
        await rename(away, out.artifactDir);
      }
    });

    test('recommender', C.recommender, async () => {
      const model = await load(out.artifactDir);
      const trainItems = new Set([...data.train.flat(), ...data.validation.flat()]);
      for (const i of model.vocabulary) expect(trainItems.has(i), `${i} is an item of the training data`).toBe(true);
      for (const i of data.testOnlyItems) expect(model.vocabulary).not.toContain(i);
      const harness = { recommender: model, train: data.train };
      recommenderContractChecks.vocabulary(harness);
      recommenderContractChecks.k(harness);
      recommenderContractChecks.valid(harness);
      recommenderContractChecks.batch(harness);
      // Test prefixes, with their unknown items.
      const vocabulary = new Set(model.vocabulary);
      for (const s of data.test.slice(0, 40))
        for (const k of [1, 20])
          expectValidRecommendations(model.recommend(s.slice(0, 3), k), {
            k,
            vocabulary,
            label: `test prefix ${JSON.stringify(s.slice(0, 3))}`,
          });
    });

    test('abort', C.abort, async () => {
      const ac = new AbortController();
      let calls = 0;
      const run = h.trainer.train({
        snapshot: data.snapshot,
        params: h.params,
        outDir: newOutDir(),
        signal: ac.signal,
        onProgress: () => {
          if (++calls === 1) ac.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(Error);
      expect(calls).toBeGreaterThan(0);
    });

    test('abortedBefore', C.abortedBefore, async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(
        h.trainer.train({ snapshot: data.snapshot, params: h.params, outDir: newOutDir(), signal: ac.signal }),
      ).rejects.toBeInstanceOf(Error);
    });

    test('retry', C.retry, async () => {
      const dir = newOutDir();
      const ac = new AbortController();
      let lastEpoch = 0;
      // First attempt: interrupted after its first epoch (its outcome does not matter here).
      await h.trainer
        .train({
          snapshot: data.snapshot,
          params: h.params,
          outDir: dir,
          signal: ac.signal,
          onProgress: (p) => {
            if (p.epoch !== undefined && p.epoch >= 1) {
              lastEpoch = Math.max(lastEpoch, p.epoch);
              ac.abort();
            }
          },
        })
        .catch(() => undefined);
      // The retry gets the last heartbeat's epoch, like a Temporal retry.
      const retried = await h.trainer.train({
        snapshot: data.snapshot,
        params: h.params,
        outDir: dir,
        initialEpoch: lastEpoch,
      });
      expect(within(dir, retried.artifactDir)).toBe(true);
      expect(retried.resumedFromEpoch ?? 0).toBeLessThanOrEqual(retried.epochs);
      const ev2 = await h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: retried.artifactDir, ks: KS });
      expectRankingMetrics(ev2.metrics, 'retried model');
      expect(ev2.predictions).toBe(ev.predictions);
      const model = await load(retried.artifactDir);
      expect(model.vocabulary.length).toBeGreaterThan(0);
    });

    test('missingArtifact', C.missingArtifact, async () => {
      const empty = path.join(tmp, 'no-artifact-here');
      await mkdir(empty, { recursive: true });
      await expect(h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: empty, ks: KS })).rejects.toBeInstanceOf(
        Error,
      );
      await expect(
        h.trainer.evaluate({ snapshot: data.snapshot, artifactDir: path.join(tmp, 'does-not-exist'), ks: KS }),
      ).rejects.toBeInstanceOf(Error);
    });
  });
}
