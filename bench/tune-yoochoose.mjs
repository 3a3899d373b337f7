#!/usr/bin/env node
// Hyper-parameter search for skiff's tfjs GRU4Rec (or, with --model sasrec, its SASRec-style
// model) on the YooChoose rsc15-100k sample, run by the product's own model-selection stage — the
// one `skiff train --config` runs for a config with `candidates`: this script only builds that
// config and the data, and writes the result down. The data goes through the pipeline's own
// stages into a temporary data dir (ingest of the sample's train_full and test as two raw files,
// transform with the configured split rule (default: session-rec's last day), checks, snapshot):
// the snapshot `skiff train` would use. The candidates — the anchor (first trial) and a seeded draw
// from the search space (the config parser's `drawTrials`) — are trained by the pipeline's
// `trainCandidate` stage one after another: on the train split, each epoch scored on validation
// (HR@20 + MRR@20), early stopping with `patience`, no refit; the test split is never used here.
// The pick is the pipeline's (highest validation score, ties to the earlier trial). One JSON line
// per trial on stdout (the candidate result: params, chosen epoch, validation curve, losses,
// seconds), and the chosen configuration is written to apps/cli/configs/<model>-yoochoose.v1.json
// with `epochs` = its early-stopping epoch: `skiff train --config` caps its own early stopping
// there, then refits on train + validation (bench/eval-yoochoose.mjs runs it and writes
// docs/evaluation.md). SR and V-SKNN go through the same stage first, as the bar on validation.
//
//   npx turbo run build
//   node bench/tune-yoochoose.mjs --baselines-only        # the inner split's sizes and SR / V-SKNN on it
//   node bench/tune-yoochoose.mjs [--model gru4rec|sasrec] [--backend tensorflow] [--trials 12] [--seed 1]
//        [--max-epochs 15] [--patience 2] [--out apps/cli/configs/gru4rec-yoochoose.v1.json] [--no-write]
//        [--space '{"hiddenUnits":[200,300],…}'] [--anchor '{…}' | --no-anchor]
//                                               # a further stage: its own grid and anchor, another --seed
//        [--print-config]                       # print the training config the search runs, and stop
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig } from '../packages/config/dist/index.js';
import {
  createPipelineActivities,
  drawTrials,
  parseTrainingConfig,
  selectCandidate,
} from '../packages/pipeline/dist/index.js';
import { buildPipelineDeps, trainingBackend } from '../packages/runtime/dist/index.js';
import { TEST, TRAIN_FULL, yoochooseDir } from './yoochoose-split.mjs';

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
const MAX_EPOCHS = Number(option('--max-epochs', '15'));
const PATIENCE = Number(option('--patience', '2'));
const MODEL = option('--model', 'gru4rec');
if (MODEL !== 'gru4rec' && MODEL !== 'sasrec') throw new Error(`--model must be gru4rec or sasrec, not ${MODEL}`);
const OUT = path.resolve(repoRoot, option('--out', `apps/cli/configs/${MODEL}-yoochoose.v1.json`));

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
const ANCHOR = flag('--no-anchor')
  ? null
  : option('--anchor', undefined)
    ? JSON.parse(option('--anchor'))
    : DEFAULT_ANCHORS[MODEL];

/**
 * The training config of the search, as a user would write it for `skiff train --config`: the base
 * params and a candidate list — the anchor, then a seeded draw from the space (the parser's own
 * `search` draw, with the anchor left out of it).
 */
function searchConfig() {
  const drawn = drawTrials({ seed: SEARCH_SEED, trials: TRIALS + 1, space: SPACE })
    .filter(
      (t) => !ANCHOR || JSON.stringify(Object.entries(t).sort()) !== JSON.stringify(Object.entries(ANCHOR).sort()),
    )
    .slice(0, ANCHOR ? TRIALS - 1 : TRIALS);
  const trials = ANCHOR ? [ANCHOR, ...drawn] : drawn;
  return { ...BASE, candidates: trials.map((t, i) => ({ name: `trial-${i}`, ...t })) };
}

if (flag('--print-config')) {
  console.log(JSON.stringify(searchConfig(), null, 2));
  process.exit(0);
}

const { dir: sampleDir, reason } = yoochooseDir();
if (!sampleDir) {
  console.error(`tune-yoochoose: ${reason}`);
  process.exit(2);
}

const round = (x, d = 4) => Number(x.toFixed(d));
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-tune-'));
try {
  const config = loadConfig(
    { ...process.env, ...(option('--backend', undefined) ? { SKIFF_TF_BACKEND: option('--backend') } : {}) },
    { dataDir },
  );
  const logger = createLogger({ level: 'warn' });
  const { backend } = await trainingBackend(config);
  const acts = createPipelineActivities(buildPipelineDeps(config, logger), {
    // Each candidate's epochs on stderr: the stage's progress events (a Temporal heartbeat elsewhere).
    progress: (p) => {
      if (p.candidate && p.stage === 'validate' && p.valHr20 !== undefined)
        console.error(`${p.candidate} epoch ${p.epoch}: val hr@20 ${p.valHr20.toFixed(4)}`);
    },
  });
  // The pipeline's data stages: the snapshot `skiff train` would train on.
  await acts.ingest({ inputs: [path.join(sampleDir, TRAIN_FULL), path.join(sampleDir, TEST)] });
  await acts.transform({});
  await acts.validate();
  const snapshot = await acts.snapshot({});
  const SPLIT_NAME = 'pipeline split of train_full: train → validation';
  console.log(
    JSON.stringify({
      bench: 'tune-yoochoose',
      split: SPLIT_NAME,
      rule: snapshot.split?.rule,
      validationStart: snapshot.split?.validationStart,
      train: snapshot.split?.train,
      validation: snapshot.split?.validation,
    }),
  );

  // The bar on validation: SR and V-SKNN through the same candidate stage (fitted on train, scored on validation).
  const baselines = {};
  for (const kind of ['sr', 'vsknn']) {
    const r = await acts.trainCandidate({
      snapshot,
      candidate: { name: kind, params: parseTrainingConfig({ model: kind }, kind).train },
      runId: `tune-yoochoose-baselines`,
    });
    baselines[kind] = { 'hr@20': round(r.validation['hr@20']), 'mrr@20': round(r.validation['mrr@20']) };
    console.log(JSON.stringify({ bench: 'tune-yoochoose', baseline: kind, split: SPLIT_NAME, ...baselines[kind] }));
  }
  if (!flag('--baselines-only')) await search(acts, snapshot, baselines, backend, SPLIT_NAME);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

async function search(acts, snapshot, baselines, backend, SPLIT_NAME) {
  // The search: the product's config parser and its candidate stage (train each, score on validation, pick).
  const raw = searchConfig();
  const { candidates } = parseTrainingConfig(raw, 'tune-yoochoose');
  const started = performance.now();
  const workflowId = `tune-yoochoose-${MODEL}`;
  const { chosen, results, summary } = await selectCandidate(acts, candidates, snapshot, { workflowId });
  await acts.finishSelection({
    parentRunId: summary.parentRunId ?? null,
    chosen: chosen.name,
    results: summary.candidates,
  });
  const searchSeconds = round((performance.now() - started) / 1000, 1);
  const lines = results.map((r, i) => {
    const line = {
      bench: 'tune-yoochoose',
      trial: i,
      params: r.params,
      bestEpoch: r.chosenEpochs,
      epochsRun: r.epochsRun,
      stoppedEarly: r.stoppedEarly,
      'val hr@20': round(r.validation['hr@20']),
      'val mrr@20': round(r.validation['mrr@20']),
      beatsSrOnValid: r.validation['hr@20'] > baselines.sr['hr@20'] && r.validation['mrr@20'] > baselines.sr['mrr@20'],
      seconds: round(r.trainSeconds, 1),
      secondsPerEpoch: round(r.trainSeconds / Math.max(1, r.epochsRun), 1),
      curve: r.selection.validation.map((v) => ({
        epoch: v.epoch,
        'hr@20': round(v['hr@20']),
        'mrr@20': round(v['mrr@20']),
      })),
      losses: r.selection.losses.map((l) => round(l)),
      backend,
    };
    console.log(JSON.stringify(line));
    return line;
  });
  const best = lines[results.indexOf(chosen)];
  const { patience: _p, epochs: _e, ...fixed } = raw;
  delete fixed.candidates;
  const chosenParams = Object.fromEntries(Object.keys(SPACE).map((k) => [k, chosen.params[k]]));
  const out = {
    $comment: `Chosen by bench/tune-yoochoose.mjs (the pipeline's candidate stage over ${results.length} trials: an anchor and a seeded random draw) on the YooChoose rsc15-100k inner split (the pipeline's train and validation splits of train_full): trained on train, early stopping and selection on validation by HR@20 + MRR@20; the test split was not used. epochs = the early-stopping epoch of the chosen trial.`,
    $meta: {
      chosenBy: 'bench/tune-yoochoose.mjs',
      date: new Date().toISOString().slice(0, 10),
      split: SPLIT_NAME,
      trials: results.length,
      searchSeed: SEARCH_SEED,
      trial: best.trial,
      earlyStoppingEpoch: chosen.chosenEpochs,
      patience: PATIENCE,
      maxEpochs: MAX_EPOCHS,
      validation: { 'hr@20': best['val hr@20'], 'mrr@20': best['val mrr@20'] },
      validationBaselines: baselines,
      backend,
      cpu: os.cpus()[0]?.model?.trim(),
      searchSeconds,
      trialsTable: lines.map((r) => ({
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
    ...(ANCHOR ? Object.fromEntries(Object.keys(ANCHOR).map((k) => [k, chosen.params[k]])) : {}),
    ...chosenParams,
    epochs: chosen.chosenEpochs,
    patience: PATIENCE,
  };
  console.log(JSON.stringify({ bench: 'tune-yoochoose', chosen: best.trial, config: out }));
  if (!flag('--no-write')) {
    await mkdir(path.dirname(OUT), { recursive: true });
    await writeFile(OUT, JSON.stringify(out, null, 2) + '\n');
    console.error(`wrote ${path.relative(repoRoot, OUT)}`);
  }
}
