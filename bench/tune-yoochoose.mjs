#!/usr/bin/env node
// Hyper-parameter search for skiff's tfjs GRU4Rec (or, with --model sasrec, its SASRec-style
// model) on the YooChoose rsc15-100k sample, on the *inner* split only: trains on the pipeline's
// train split and scores on its validation split. Both come from the pipeline's own split code
// (bench/yoochoose-split.mjs: the sample's train_full and test ingested as two raw files, the
// default split rule; validation = that rule applied to train_full), so they are the data
// `skiff train` selects its epochs on; the test split is never used here. Every trial uses early
// stopping on validation (score = HR@20 + MRR@20, `patience` epochs, best epoch's weights kept). A
// seeded random search over a small grid; one JSON line per trial on stdout. The best trial (highest
// validation HR@20 + MRR@20) is written to apps/cli/configs/<model>-yoochoose.v1.json with `epochs`
// = its early-stopping epoch: `skiff train --config` caps its own early stopping there, then refits
// on train + validation (bench/eval-yoochoose.mjs runs it and writes docs/evaluation.md).
//
//   npx turbo run build
//   node bench/tune-yoochoose.mjs [--baselines-only]   # --baselines-only: the inner split's sizes and SR / V-SKNN on it
//   node bench/tune-yoochoose.mjs [--model gru4rec|sasrec] [--backend tensorflow] [--trials 12] [--seed 1] [--budget-s 1200]
//        [--max-epochs 15] [--out apps/cli/configs/gru4rec-yoochoose.v1.json] [--no-write]
//        [--trial '{"repeatWindow":10,...}']   # run just these params (no config written)
//        [--from-log tune.jsonl]                # re-select from a saved stdout of this script (no training)
//        [--space '{"hiddenUnits":[200,300],…}'] [--anchor '{…}'] [--first-trial 12]
//                                               # a further stage: its own grid and anchor (first trial),
//                                               # numbered after the earlier stage; select over both with
//                                               # --from-log (and --stages '<how they were run>')
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../packages/core/dist/index.js';
import * as m from '../packages/model/dist/index.js';
import { pipelineSplit, yoochooseDir } from './yoochoose-split.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const TRIALS = Number(option('--trials', '12'));
const SEARCH_SEED = Number(option('--seed', '1'));
const BUDGET_S = Number(option('--budget-s', '1200'));
const MAX_EPOCHS = Number(option('--max-epochs', '15'));
const PATIENCE = Number(option('--patience', '2'));
const MODEL = option('--model', 'gru4rec');
if (MODEL !== 'gru4rec' && MODEL !== 'sasrec') throw new Error(`--model must be gru4rec or sasrec, not ${MODEL}`);
const OUT = path.resolve(repoRoot, option('--out', `apps/cli/configs/${MODEL}-yoochoose.v1.json`));
const SINGLE = option('--trial', undefined);
const FROM_LOG = option('--from-log', undefined);

const backendPref = option('--backend', 'auto'); // auto: native TensorFlow (tfjs-node) when installed, else WASM
if (backendPref === 'tensorflow' || backendPref === 'wasm') m.setBackendPreference(backendPref);
const { backend } = FROM_LOG ? { backend: undefined } : await m.initBackend();

/** The pipeline's inner split: train and validation of the snapshot `skiff train` would use. */
const SPLIT_NAME = 'pipeline split of train_full: train → validation';
let trainTr;
let valid = [];
if (!FROM_LOG) {
  const { dir: dataDir, reason } = yoochooseDir();
  if (!dataDir) {
    console.error(`tune-yoochoose: ${reason}`);
    process.exit(2);
  }
  const split = await pipelineSplit(dataDir);
  trainTr = split.train;
  valid = split.validation.sessions;
  console.log(
    JSON.stringify({
      bench: 'tune-yoochoose',
      split: SPLIT_NAME,
      rule: split.split.rule,
      validationStart: split.split.validationStart,
      train: split.split.train,
      validation: split.split.validation,
    }),
  );
}
const counts = trainTr ? m.itemCounts(trainTr.sessions) : new Map();
const round = (x, d = 4) => Number(x.toFixed(d));
const validMetrics = (model) => m.evaluate(model, valid, { ks: [20], trainItemCounts: counts }).metrics;

// The baselines on the same inner split: the bar a configuration has to clear on validation.
const baselines = {};
const logged = FROM_LOG
  ? (await readFile(path.resolve(FROM_LOG), 'utf8'))
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l))
  : undefined;
// A log of the other model would otherwise overwrite this model's config file.
const otherModel = logged?.find((l) => l.params && l.params.model !== MODEL);
if (otherModel)
  throw new Error(`${FROM_LOG} holds ${otherModel.params.model} trials; pass --model ${otherModel.params.model}`);
for (const kind of logged ? [] : ['sr', 'vsknn']) {
  const mt = validMetrics(m.trainBaseline(kind, trainTr.sessions, { lastTimes: trainTr.lastTimes }));
  baselines[kind] = { 'hr@20': round(mt['hr@20']), 'mrr@20': round(mt['mrr@20']) };
  console.log(JSON.stringify({ bench: 'tune-yoochoose', baseline: kind, split: SPLIT_NAME, ...baselines[kind] }));
}
if (flag('--baselines-only')) process.exit(0);

/** Fixed part of every trial. */
const BASE = { model: MODEL, maxLen: 10, epochs: MAX_EPOCHS, patience: PATIENCE, seed: 42 };
/** The search space per model (values per parameter); a trial draws one value of each. */
const DEFAULT_SPACES = {
  gru4rec: {
    hiddenUnits: [100, 200],
    embeddingDim: [64, 100],
    batchSize: [128, 256],
    learningRate: [0.003, 0.005, 0.01],
    negatives: [1024, 2048],
    repeatWindow: [5, 10],
    dropout: [0.3, 0.5],
  },
  // SASRec: width = embeddingDim, feed-forward size = hiddenUnits; the loss, negatives and repeat
  // term are GRU4Rec's, so their ranges start from what worked there.
  sasrec: {
    embeddingDim: [64, 128],
    hiddenUnits: [128, 256],
    blocks: [1, 2],
    heads: [1, 2],
    batchSize: [256],
    learningRate: [0.003, 0.005],
    negatives: [2048],
    repeatWindow: [0, 5],
    dropout: [0.2, 0.4],
  },
};
const SPACE = option('--space', undefined) ? JSON.parse(option('--space')) : DEFAULT_SPACES[MODEL];
/** The first trial, as an anchor: GRU4Rec's previous untuned configuration; for SASRec a middle-of-the-grid one. */
const DEFAULT_ANCHORS = {
  gru4rec: {
    hiddenUnits: 100,
    embeddingDim: 100,
    batchSize: 128,
    learningRate: 0.005,
    negatives: 64,
    repeatWindow: 0,
    dropout: 0,
  },
  sasrec: {
    embeddingDim: 64,
    hiddenUnits: 128,
    blocks: 2,
    heads: 1,
    batchSize: 256,
    learningRate: 0.003,
    negatives: 2048,
    repeatWindow: 5,
    dropout: 0.2,
  },
};
const ANCHOR = option('--anchor', undefined) ? JSON.parse(option('--anchor')) : DEFAULT_ANCHORS[MODEL];
const FIRST_TRIAL = Number(option('--first-trial', '0'));
/** With --from-log over several stages: how they were run (recorded in the config). */
const STAGES = option('--stages', undefined);

function drawTrials() {
  const rnd = mulberry32(SEARCH_SEED);
  const seen = new Set([JSON.stringify(ANCHOR)]);
  const out = [ANCHOR];
  for (let guard = 0; out.length < TRIALS && guard < 10_000; guard++) {
    const t = Object.fromEntries(Object.entries(SPACE).map(([k, vs]) => [k, vs[Math.floor(rnd() * vs.length)]]));
    const key = JSON.stringify(t);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(t);
    }
  }
  return out.slice(0, TRIALS);
}

async function runTrial(index, overrides) {
  const params = { ...BASE, ...overrides };
  const curve = [];
  const t0 = performance.now();
  const model = await m.trainGru4Rec({
    train: trainTr.sessions,
    params,
    validate: (mdl, epoch) => {
      const mt = validMetrics(mdl);
      curve.push({ epoch: epoch + 1, 'hr@20': round(mt['hr@20']), 'mrr@20': round(mt['mrr@20']) });
      return mt['hr@20'] + mt['mrr@20'];
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const t = model.training;
  model.dispose();
  const best = curve[t.bestEpoch];
  const line = {
    bench: 'tune-yoochoose',
    trial: index,
    params,
    bestEpoch: t.bestEpoch + 1,
    epochsRun: curve.length,
    stoppedEarly: Boolean(t.stoppedEarly),
    'val hr@20': best['hr@20'],
    'val mrr@20': best['mrr@20'],
    beatsSrOnValid: best['hr@20'] > baselines.sr['hr@20'] && best['mrr@20'] > baselines.sr['mrr@20'],
    seconds: round(seconds, 1),
    secondsPerEpoch: round(seconds / curve.length, 1),
    curve,
    losses: t.losses.map((l) => round(l)),
    backend,
  };
  console.log(JSON.stringify(line));
  return line;
}

if (SINGLE) {
  await runTrial(0, JSON.parse(SINGLE));
  process.exit(0);
}

const started = performance.now();
const results = [];
const trials = logged ? [] : drawTrials();
let searchSeconds;
if (logged) {
  for (const l of logged) {
    if (l.baseline) baselines[l.baseline] = { 'hr@20': l['hr@20'], 'mrr@20': l['mrr@20'] };
    if (l.trial !== undefined && l.params) results.push(l);
  }
  searchSeconds = round(
    results.reduce((a, r) => a + r.seconds, 0),
    1,
  );
}
for (let i = 0; i < trials.length; i++) {
  const elapsed = (performance.now() - started) / 1000;
  if (elapsed > BUDGET_S) {
    console.log(
      JSON.stringify({ bench: 'tune-yoochoose', skipped: trials.length - i, reason: `time budget ${BUDGET_S} s used` }),
    );
    break;
  }
  results.push(await runTrial(FIRST_TRIAL + i, trials[i]));
}

// Selection: highest validation HR@20 + MRR@20 (the early-stopping score).
const score = (r) => r['val hr@20'] + r['val mrr@20'];
const chosen = results.reduce((a, r) => (score(r) > score(a) ? r : a));
const { patience: _p, epochs: _e, ...fixed } = chosen.params;
const config = {
  $comment: `Chosen by bench/tune-yoochoose.mjs (seeded random search, ${results.length} trials) on the YooChoose rsc15-100k inner split (the pipeline's train and validation splits of train_full): trained on train, early stopping and selection on validation by HR@20 + MRR@20; the test split was not used. epochs = the early-stopping epoch of the chosen trial.${STAGES ? ` Stages: ${STAGES}.` : ''}`,
  $meta: {
    chosenBy: 'bench/tune-yoochoose.mjs',
    date: new Date().toISOString().slice(0, 10),
    split: logged ? (logged.find((l) => l.split)?.split ?? 'train_tr → train_valid') : SPLIT_NAME,
    trials: results.length,
    ...(STAGES ? { stages: STAGES } : { searchSeed: SEARCH_SEED }),
    trial: chosen.trial,
    earlyStoppingEpoch: chosen.bestEpoch,
    patience: chosen.params.patience,
    maxEpochs: chosen.params.epochs,
    validation: { 'hr@20': chosen['val hr@20'], 'mrr@20': chosen['val mrr@20'] },
    validationBaselines: baselines,
    backend: results[0]?.backend ?? backend,
    cpu: os.cpus()[0]?.model?.trim(),
    searchSeconds: searchSeconds ?? round((performance.now() - started) / 1000, 1),
    trialsTable: results.map((r) => ({
      trial: r.trial,
      ...Object.fromEntries(Object.keys(SPACE).map((k) => [k, r.params[k]])),
      bestEpoch: r.bestEpoch,
      epochsRun: r.epochsRun,
      'hr@20': r['val hr@20'],
      'mrr@20': r['val mrr@20'],
      seconds: r.seconds,
    })),
  },
  ...fixed,
  epochs: chosen.bestEpoch,
  patience: chosen.params.patience,
};
console.log(JSON.stringify({ bench: 'tune-yoochoose', chosen: chosen.trial, config }));
if (!flag('--no-write')) {
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, JSON.stringify(config, null, 2) + '\n');
  console.error(`wrote ${path.relative(repoRoot, OUT)}`);
}
