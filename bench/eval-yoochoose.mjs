#!/usr/bin/env node
// Benchmark: POP, SR, V-SKNN, STAN, VSTAN, GRU4Rec and SASRec on the YooChoose rsc15-100k split (session-rec's sample),
// next-item evaluation at every position of every test session. Prints one JSON line per model and
// writes docs/evaluation.md (protocol + the measured table + these JSON lines).
//
// The split is skiff's own (bench/yoochoose-split.mjs: train_full and test ingested as two raw
// files, the pipeline's default split rule): models are trained on its train + validation (=
// train_full, as `skiff train` refits) and tested on its test split (= the test file).
//
// The tfjs models (GRU4Rec, SASRec) are trained on train_full with the configuration chosen on
// train_tr → train_valid by bench/tune-yoochoose.mjs (apps/cli/configs/<kind>-yoochoose.v1.json;
// `epochs` there is the early-stopping epoch found on train_valid — there is no early stopping on
// the test split). A kind without a config file is skipped.
//
//   npm run build -w @skiff/core -w @skiff/model     # the bench imports the built packages
//   taskset -c 0 node bench/eval-yoochoose.mjs [--gru-config apps/cli/configs/gru4rec-yoochoose.v1.json]
//        [--sasrec-config apps/cli/configs/sasrec-yoochoose.v1.json]
//        [--gru-epochs N] [--no-gru4rec] [--no-sasrec] [--no-docs]
//        [--from-log eval.jsonl]   # write docs/evaluation.md from a saved stdout of this script (no training)
//
// `taskset -c 0` pins the process to one core, so predictions/s are single-core numbers.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainParamsSchema } from '../packages/core/dist/index.js';
import * as m from '../packages/model/dist/index.js';
import { pipelineSplit, yoochooseDir } from './yoochoose-split.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const { dir: dataDir, reason } = yoochooseDir();
const docPath = path.join(repoRoot, 'docs/evaluation.md');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
/** The tfjs kinds and their chosen configurations. */
const NEURAL = [
  {
    kind: 'gru4rec',
    title: 'GRU4Rec',
    configFile: path.resolve(repoRoot, option('--gru-config', 'apps/cli/configs/gru4rec-yoochoose.v1.json')),
    epochs: option('--gru-epochs', undefined),
  },
  {
    kind: 'sasrec',
    title: 'SASRec',
    configFile: path.resolve(repoRoot, option('--sasrec-config', 'apps/cli/configs/sasrec-yoochoose.v1.json')),
    epochs: option('--sasrec-epochs', undefined),
  },
]
  .filter((n) => !flag(`--no-${n.kind}`) && existsSync(n.configFile))
  .map((n) => {
    // $comment / $meta document how the configuration was chosen; TrainParamsSchema drops them.
    const raw = JSON.parse(readFileSync(n.configFile, 'utf8'));
    const params = TrainParamsSchema.parse({ ...raw, ...(n.epochs ? { epochs: Number(n.epochs) } : {}) });
    return { ...n, meta: raw.$meta ?? {}, params, resolved: m.resolveGru4RecParams(params) };
  });
/** Time budget of the one-request-at-a-time serving loop, per model. */
const SERVE_BUDGET_MS = Number(option('--serve-budget-ms', '20000'));

/** From the data folder's README (independent implementation of the session-rec algorithms). */
const REFERENCE = {
  pop: { hr: 0.089, mrr: 0.026 },
  sr: { hr: 0.619, mrr: 0.347 },
  vsknn: { hr: 0.679, mrr: 0.37 },
  stan: { hr: 0.668, mrr: 0.373 },
  vstan: { hr: 0.685, mrr: 0.375 },
};

if (!dataDir) {
  console.error(`eval-yoochoose: ${reason}; nothing to do`);
  process.exit(2);
}

const split = await pipelineSplit(dataDir);
// The final models are trained on train + validation, as the pipeline's refit is.
const train = split.refit;
const test = split.test.sessions;
const counts = m.itemCounts(train.sessions);
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;

// The serving path: one prefix per call, k = 20 (the same prefixes the evaluation scores).
const prefixes = [];
for (const s of test) {
  const known = s.filter((i) => counts.has(i));
  for (let i = 1; i < known.length; i++) prefixes.push(known.slice(0, i));
}

/** Passes over the prefixes until at least MIN_SERVE_MS (or SERVE_BUDGET_MS, whichever ends first). */
const MIN_SERVE_MS = 3000;
function servingRate(model) {
  for (let i = 0; i < Math.min(200, prefixes.length); i++) model.recommend(prefixes[i], 20); // warm-up
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= SERVE_BUDGET_MS || (elapsed >= MIN_SERVE_MS && n >= prefixes.length)) break;
    model.recommend(prefixes[n % prefixes.length], 20);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

const round = (x, d = 4) => Number(x.toFixed(d));

/** The searched parameters as table columns (the trial table lists exactly the search space's keys). */
/** SASRec's width is embeddingDim and its feed-forward size hiddenUnits. */
const SASREC_HEADS = { hiddenUnits: 'feed-forward', embeddingDim: 'width' };
const PARAM_HEADS = {
  hiddenUnits: 'hidden',
  embeddingDim: 'emb',
  blocks: 'blocks',
  heads: 'heads',
  batchSize: 'batch',
  learningRate: 'lr',
  negatives: 'negatives',
  repeatWindow: 'repeat window',
  dropout: 'dropout',
};

/** Generated sentences: how each tfjs model compares with SR on both metrics (the strongest baseline is the bar a neural model has to clear). */
function verdict() {
  const by = Object.fromEntries(results.map((r) => [r.model, r]));
  const sr = by.sr;
  if (!sr) return '';
  return NEURAL.filter((n) => by[n.kind])
    .map((n) => {
      const g = by[n.kind];
      const d = (k) => g[k] - sr[k];
      const part = (k, name) =>
        `${d(k) > 0 ? 'beats' : 'does not beat'} SR on ${name} (${g[k].toFixed(4)} vs ${sr[k].toFixed(4)}, ${d(k) >= 0 ? '+' : ''}${d(k).toFixed(4)})`;
      return `\n**${n.title} vs SR on test:** it ${part('hr@20', 'HR@20')} and ${part('mrr@20', 'MRR@20')}.\n`;
    })
    .join('');
}

const results = [];

async function bench(name, fit) {
  const t0 = performance.now();
  const { model, extra = {} } = await fit();
  const trainSeconds = (performance.now() - t0) / 1000;
  const e0 = performance.now();
  const { metrics, predictions } = m.evaluate(model, test, { ks: [1, 5, 10, 20], trainItemCounts: counts });
  const evalSeconds = (performance.now() - e0) / 1000;
  const predictionsPerSecond = servingRate(model);
  const line = {
    bench: 'eval-yoochoose',
    model: name,
    'hr@20': round(metrics['hr@20']),
    'mrr@20': round(metrics['mrr@20']),
    'ndcg@20': round(metrics['ndcg@20']),
    'coverage@20': round(metrics['coverage@20']),
    'popbias@20': round(metrics['popbias@20']),
    trainSeconds: round(trainSeconds, 2),
    predictionsPerSecond: Math.round(predictionsPerSecond),
    evalPredictionsPerSecond: Math.round(predictions / evalSeconds),
    predictions,
    'hr@1': round(metrics['hr@1']),
    'hr@5': round(metrics['hr@5']),
    'hr@10': round(metrics['hr@10']),
    'mrr@10': round(metrics['mrr@10']),
    cores,
    // Other processes on the machine slow predictions/s; the 1-minute load average says how busy it was.
    loadavg1m: round(os.loadavg()[0], 2),
    ...(REFERENCE[name] ? { reference: { 'hr@20': REFERENCE[name].hr, 'mrr@20': REFERENCE[name].mrr } } : {}),
    ...extra,
  };
  console.log(JSON.stringify(line));
  results.push(line);
  if (typeof model.dispose === 'function') model.dispose();
}

const FROM_LOG = option('--from-log', undefined);
if (FROM_LOG) {
  // Re-render the doc from the JSON lines of an earlier run (same machine facts are read again).
  for (const l of readFileSync(path.resolve(FROM_LOG), 'utf8').split('\n'))
    if (l.startsWith('{"bench":"eval-yoochoose"')) results.push(JSON.parse(l));
} else {
  await bench('pop', async () => ({ model: m.trainBaseline('pop', train.sessions) }));
  await bench('sr', async () => ({
    model: m.trainBaseline('sr', train.sessions),
    extra: { params: m.DEFAULT_SR_PARAMS },
  }));
  await bench('vsknn', async () => ({
    model: m.trainBaseline('vsknn', train.sessions, { lastTimes: train.lastTimes }),
    extra: { params: m.DEFAULT_VSKNN_PARAMS },
  }));
  await bench('stan', async () => ({
    model: m.trainBaseline('stan', train.sessions, { lastTimes: train.lastTimes }),
    extra: { params: m.DEFAULT_STAN_PARAMS },
  }));
  await bench('vstan', async () => ({
    model: m.trainBaseline('vstan', train.sessions, { lastTimes: train.lastTimes }),
    extra: { params: m.DEFAULT_VSTAN_PARAMS },
  }));
}
for (const n of FROM_LOG ? [] : NEURAL) {
  await bench(n.kind, async () => {
    const losses = [];
    // No validate callback: train_full has no held-out part here, so exactly params.epochs run.
    const model = await m.trainGru4Rec({
      train: train.sessions,
      params: n.params,
      onEpochEnd: (e) => void losses.push(round(e.loss)),
    });
    return {
      model,
      extra: {
        params: n.params,
        config: path.relative(repoRoot, n.configFile),
        backend: model.config.backend,
        losses,
        samplesPerSecond: Math.round(model.training.samplesPerSecond),
        ...(n.meta.validation ? { tuning: n.meta } : {}),
      },
    };
  });
}

if (!flag('--no-docs')) await writeFile(docPath, renderDoc(results));

function cpuModel() {
  return os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
}

function pinned() {
  try {
    return execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' })
      .trim()
      .replace(/^.*affinity mask: /, 'mask ');
  } catch {
    return 'unknown';
  }
}

/** What was trained, and how its configuration was chosen. */
function neuralModelText(n, row) {
  const p = n.resolved;
  const t = n.meta;
  const tuned = t.validation
    ? `  Configuration \`${path.relative(repoRoot, n.configFile)}\`, **chosen on the inner split only** by \`bench/tune-yoochoose.mjs\` (${t.date}): seeded random search${t.stages ? ' in two stages' : ''}, ${t.trials} trials, each trained on \`train_tr\` with early stopping on \`train_valid\` (score HR@20 + MRR@20, patience ${t.patience}, best epoch's weights kept); the best trial reached validation HR@20 ${t.validation['hr@20']} / MRR@20 ${t.validation['mrr@20']} (SR on the same split: ${t.validationBaselines?.sr?.['hr@20']} / ${t.validationBaselines?.sr?.['mrr@20']}; V-SKNN ${t.validationBaselines?.vsknn?.['hr@20']} / ${t.validationBaselines?.vsknn?.['mrr@20']}). **Early-stopping epoch: ${t.earlyStoppingEpoch}** — the final model is trained on \`train_full\` for exactly that many epochs (${t.stages ? 'every selection is made on train_valid; the second search stage was started because of a test result, see below' : 'the test split plays no part in choosing anything'}). See the trial table below.`
    : '  Configuration not from the tuning script (no `$meta.validation` in the config file).';
  const encoder =
    n.kind === 'sasrec'
      ? `causal self-attention encoder of width ${p.embeddingDim}, ${p.blocks ?? 2} pre-LayerNorm block(s) with ${p.heads ?? 1} head(s) and a feed-forward layer of ${p.hiddenUnits}, learned position embeddings over the last ${p.maxLen} items`
      : `GRU encoder: embedding ${p.embeddingDim}, hidden ${p.hiddenUnits}, maxLen ${p.maxLen}`;
  return `- **${n.title}** (skiff's tfjs model, backend \`${row.backend}\`): ${encoder}; ${p.epochs} epochs, batch ${p.batchSize}, Adam lr ${p.learningRate}, ${p.negatives} uniformly sampled negatives per batch (plus in-batch targets${p.repeatWindow > 0 ? ' and input items' : ''}), repeat/recency term over the last ${p.repeatWindow} positions${p.repeatWindow > 0 ? ' (score += h·repeatVec[r] + repeatBias[r] for an item last seen r steps back)' : ' (off)'}, dropout ${p.dropout}, seed ${p.seed}; ${row.samplesPerSecond.toLocaleString('en-US')} training examples/s; epoch losses ${JSON.stringify(row.losses)}. No ${n.title} reference number exists on this split.
${tuned}`;
}

function tuningSection(n) {
  const t = n.meta;
  const f = (x) => (typeof x === 'number' ? String(x) : '–');
  const keys = Object.keys(PARAM_HEADS).filter((k) => t.trialsTable.some((r) => r[k] !== undefined));
  const rows = t.trialsTable
    .map(
      (r) =>
        `| ${r.trial}${r.trial === t.trial ? ' **(chosen)**' : ''} | ${keys.map((k) => f(r[k])).join(' | ')} | ${r.bestEpoch} / ${r.epochsRun} | ${r['hr@20'].toFixed(4)} | ${r['mrr@20'].toFixed(4)} | ${r.seconds.toFixed(0)} |`,
    )
    .join('\n');
  return `## ${n.title} tuning (train_tr → train_valid; the test split is not used)

\`bench/tune-yoochoose.mjs\` (${t.date}, backend \`${t.backend}\`, ${t.searchSeconds} s in total): ${
    t.stages
      ? `${t.stages}.`
      : `trial 0 is the previous untuned configuration (with early stopping) as an anchor, the others a seeded random draw (search seed ${t.searchSeed}) from the grid in the script.`
  } Every trial: at most ${t.maxEpochs} epochs, early stopping on \`train_valid\` with patience ${t.patience} (score HR@20 + MRR@20,
the best epoch's weights kept). "epoch" = best epoch / epochs run. Validation baselines on the same split: SR
${t.validationBaselines?.sr?.['hr@20']} / ${t.validationBaselines?.sr?.['mrr@20']}, V-SKNN ${t.validationBaselines?.vsknn?.['hr@20']} / ${t.validationBaselines?.vsknn?.['mrr@20']} (HR@20 / MRR@20).

| trial | ${keys.map((k) => (n.kind === 'sasrec' ? SASREC_HEADS[k] : undefined) ?? PARAM_HEADS[k]).join(' | ')} | epoch | val HR@20 | val MRR@20 | s |
|${'---|'.repeat(keys.length + 5)}
${rows}

`;
}

function renderDoc(rows) {
  const f = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : '–');
  const ref = (r, key) => (r.reference ? f(r.reference[key]) : '–');
  const table = rows
    .map(
      (r) =>
        `| ${r.model} | ${f(r['hr@20'])} | ${f(r['mrr@20'])} | ${ref(r, 'hr@20')} | ${ref(r, 'mrr@20')} | ${f(r['ndcg@20'])} | ${f(r['coverage@20'])} | ${f(r['popbias@20'])} | ${f(r.trainSeconds, 2)} | ${r.predictionsPerSecond.toLocaleString('en-US')} |`,
    )
    .join('\n');
  const neural = NEURAL.map((n) => ({ n, row: rows.find((r) => r.model === n.kind) })).filter((x) => x.row);
  return `# Offline evaluation

*Generated by \`bench/eval-yoochoose.mjs\` on ${new Date().toISOString().slice(0, 10)} — do not edit by hand; re-run the script.*

## Data

session-rec's "rsc15 100k" sample of the RecSys Challenge 2015 YooChoose clicks (research/evaluation
data without a stated licence — not shipped with skiff; where the benchmark looks for it: data/README.md, Public data).

- Split by skiff's pipeline (\`bench/yoochoose-split.mjs\`): the sample's \`train_full\` and \`test\` files
  ingested as two raw files, transformed with the default split rule (${split.split.rule.rule}, ${split.split.rule.testDays} day): test = sessions whose **last** event
  falls in the final day (from ${split.split.testStart}), validation = the same rule on what remains (from ${split.split.validationStart}).
  Sizes: train ${split.split.train.sessions.toLocaleString('en-US')} sessions, validation ${split.split.validation.sessions.toLocaleString('en-US')}, test ${split.split.test.sessions.toLocaleString('en-US')} sessions / ${split.split.test.predictions.toLocaleString('en-US')} predictions — the same test sessions as the sample's \`test\` file.
- Training set = train + validation (= \`train_full\`): ${train.sessions.length.toLocaleString('en-US')} sessions, ${train.sessions.reduce((a, s) => a + s.length, 0).toLocaleString('en-US')} events (an exact duplicate row is dropped by the warehouse), ${counts.size.toLocaleString('en-US')} items.
- Filters already applied: items with ≥ 5 occurrences, sessions with ≥ 2 events. Consecutive repeated
  clicks are **kept** (the "RSC15" style, not Hidasi's deduplicated "Yoochoose").
- \`skiff train --model sr|vsknn\` on the same two raw files registers the same test numbers (asserted within 0.001
  by \`apps/cli/src/yoochoose.test.ts\`).

## Protocol (\`evaluate\` in \`packages/model/src/evaluate.ts\`)

- Next-item prediction at **every position** of every test session (session-rec's \`evaluation.py\`):
  the prefix \`s[1..t]\` must rank \`s[t+1]\`, for t = 1 … L−1.
- Test items unseen in training are removed first and sessions left with < 2 events are dropped
  (none on this split: ${results[0]?.predictions.toLocaleString('en-US')} prediction points).
- Ranking over **all training items** (full ranking, no sampled negatives), k = 20:
  - **HR@20** = share of predictions whose target is in the top 20 (= Recall@20 with one target;
    "P@20" in SR-GNN-lineage papers);
  - **MRR@20** = mean of 1/rank (0 beyond 20); **NDCG@20** = mean of 1/log2(rank + 1);
  - **Coverage@20** = distinct items ever in a top-20 list / training items;
  - **Popbias@20** = mean over predictions of the mean count/max-count of the listed items.
- Ties: every model breaks score ties towards the more popular training item; SR and the kNN models fill
  lists shorter than 20 with the most popular items (score 0). session-rec leaves zero-score ties
  unordered; the fill is worth +0.003 HR@20 for SR and +0.0005 for V-SKNN here.
- Models are trained on train + validation only (no online update with test sessions).
- **predictions/s** = the serving path: \`recommend(prefix, 20)\` one request at a time over the test
  prefixes (warm-up excluded; repeated passes for ≥ ${MIN_SERVE_MS / 1000} s, at most ${SERVE_BUDGET_MS / 1000} s), one Node.js thread, process affinity ${pinned()}
  (${cores} core${cores === 1 ? '' : 's'} available), ${cpuModel()}, Node ${process.version}. Other processes slow it
  down: each raw-output line records the machine's 1-minute load average when it was measured
  (\`loadavg1m\`; lines without it are from runs before it was recorded), so compare predictions/s
  between rows measured at similar load.

## Models

- **POP** — training counts (session-rec \`pop.py\`).
- **SR** — sequential rules (session-rec \`sr.py\`): steps ${m.DEFAULT_SR_PARAMS.steps}, weighting \`${m.DEFAULT_SR_PARAMS.weighting}\` (1/i), pruning ${m.DEFAULT_SR_PARAMS.pruning}; rules of the last item only.
- **V-SKNN** — session-rec \`VMContextKNN\`: k ${m.DEFAULT_VSKNN_PARAMS.k}, sample ${m.DEFAULT_VSKNN_PARAMS.sampleSize} most recent candidate sessions (by last event time), similarity \`${m.DEFAULT_VSKNN_PARAMS.similarity}\`, weighting \`${m.DEFAULT_VSKNN_PARAMS.weighting}\`, weighting_score \`${m.DEFAULT_VSKNN_PARAMS.weightingScore}\`, no IDF, remind on (session-rec's RSC15 tuning).
- **STAN** — session-rec \`knn/stan.py\` (Garg et al. 2019) with its RSC15 setting \`stan-mrr\`: k ${m.DEFAULT_STAN_PARAMS.k}, sample ${m.DEFAULT_STAN_PARAMS.sampleSize}, λ1 (prefix position) ${m.DEFAULT_STAN_PARAMS.lambdaSpw}, λ2 (neighbour age) ${m.DEFAULT_STAN_PARAMS.lambdaSnh} days, λ3 (item distance in the neighbour) ${m.DEFAULT_STAN_PARAMS.lambdaInh}; weighted cosine, remind on. Neighbour age is measured from the newest training session, which ranks exactly like session-rec's age from the request time.
- **VSTAN** — session-rec \`knn/vstan.py\` with its RSC15 setting \`vstan-mrr\`: k ${m.DEFAULT_VSTAN_PARAMS.k}, sample ${m.DEFAULT_VSTAN_PARAMS.sampleSize}, cosine, λ1 ${m.DEFAULT_VSTAN_PARAMS.lambdaSpw}, λ2 ${m.DEFAULT_VSTAN_PARAMS.lambdaSnh} days, λ3 ${m.DEFAULT_VSTAN_PARAMS.lambdaInh}, λ4 (match position) ${m.DEFAULT_VSTAN_PARAMS.lambdaIpw}, IDF weight ${m.DEFAULT_VSTAN_PARAMS.lambdaIdf}.
${neural.length ? neural.map(({ n, row }) => neuralModelText(n, row)).join('\n') : '- tfjs models: not run (`--no-gru4rec`, `--no-sasrec` or no config file).'}

${neural
  .filter(({ n }) => n.meta.trialsTable)
  .map(({ n }) => tuningSection(n))
  .join('')}## Results (test split, ${results[0]?.predictions.toLocaleString('en-US')} predictions)

| model | HR@20 | MRR@20 | ref HR@20 | ref MRR@20 | NDCG@20 | Cov@20 | Pop@20 | train s | predictions/s |
|---|---|---|---|---|---|---|---|---|---|
${table}
${verdict()}
"ref" = the data folder's README (independent implementation of the session-rec algorithms on this
exact split). \`packages/model/src/real-data.test.ts\` asserts POP, SR, V-SKNN, STAN and VSTAN within ±0.01 of it.
For context, session-rec's published RSC15 sliding-window averages (a larger dataset, 5 slices) are
SR 0.651/0.301, V-SKNN 0.651/0.287, STAN 0.666/0.293, VSTAN 0.676/0.294, GRU4Rec 0.649/0.289
(HR@20/MRR@20) — not comparable one-to-one.

## Raw output

\`\`\`
${rows.map((r) => JSON.stringify(r)).join('\n')}
\`\`\`
`;
}
