// Training throughput of skiff's own trainers against Keras, in one run (one process per runner,
// one after another: 2-core box).
//
// Default runners: skiff's real trainer (packages/model trainGru4Rec, the product's code) for
// GRU4Rec (reset-before cell) and SASRec on tfjs-node (`skiff-gru4rec`, `skiff-sasrec`) and on
// WASM (`skiff-gru4rec-wasm`, `skiff-sasrec-wasm`), and the same two models written in Keras on
// Python TensorFlow (`keras-gru4rec`, `keras-sasrec`, keras_skiff.py). Same data, shapes, initial
// weights (skiff's seeded initialisation, written to the data file for Keras), examples and
// per-epoch order, loss (full softmax: negatives ≥ items) and optimizer (Adam 1e-3, batch 128):
// the losses per epoch must agree to 2 decimals, and the last line says whether they do.
// Data: sessions of 11 items from a seeded generator (Zipf-like popularity, 3 preferred successors
// per item; 2000 items), every prefix → next item (10 examples per session, maxLen 10); width 64,
// GRU 64 units; SASRec 2 blocks, 1 head, feed-forward 64.
// samplesPerSec of these runners is their fastest epoch after the first (the machine is shared:
// the least disturbed epoch); the earlier bench models report their last epoch. Then one line of ratios (keys
// `skiff-gru4rec/keras`, `skiff-sasrec/keras`, ...) and one line with the losses side by side.
//
// `skiff-gru4rec-reset-after` (optional) is skiff's GRU4Rec with the reset-after cell (tfjs ops: the
// trainer before the fused cell); its losses are another model's, so it is not in the loss check.
// The earlier bench models (the GRU alone, written with the Layers API, with ops, with the fused
// cell; tfjs_gru*.mjs, keras_gru.py) still run by name: tensorflow, tensorflow-ops,
// tensorflow-fused, wasm, wasm-ops, keras.
//
// usage: node bench/train/run.mjs [epochs=4] [sessions=2048] [runners=skiff-gru4rec,keras-gru4rec,skiff-sasrec,keras-sasrec,skiff-gru4rec-wasm,skiff-sasrec-wasm] [rounds=1]
// With rounds > 1 the runners alternate that many times and each samplesPerSec is the median over the rounds;
// the ratios line also lists every round's ratio (`perRound`).
// Keras needs Python TensorFlow: SKIFF_KERAS_PYTHON, else .cache/tfjs-node/venv/bin/python
// (bash infra/tfjs-node/install.sh --venv). Quiet re-run: `nice node bench/train/run.mjs` on an idle machine.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as rng } from '../../packages/core/dist/index.js';
import { importSkiff } from './shared.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.SKIFF_ROOT ?? path.resolve(here, '../..');
const epochs = Number(process.argv[2] ?? 4);
const roundCount = Number(process.argv[5] ?? 1);
const sessionCount = Number(process.argv[3] ?? 2048);
const backends = (
  process.argv[4] ?? 'skiff-gru4rec,keras-gru4rec,skiff-sasrec,keras-sasrec,skiff-gru4rec-wasm,skiff-sasrec-wasm'
).split(',');
/** The earlier bench models' data: fixed-length examples (as many as the sessions' examples). */
const examples = sessionCount * 10;
const ITEMS = 2_000;
const SEQ_LEN = 10;
const SEED = 42;

/** Sessions with structure: Zipf-like popularity plus 3 preferred successors per item. */
function generate(file) {
  const r = rng(SEED);
  const popular = () => Math.min(ITEMS - 1, Math.floor(ITEMS * r() ** 3));
  const succ = Array.from({ length: ITEMS }, () => [popular(), popular(), Math.floor(r() * ITEMS)]);
  const x = new Array(examples * SEQ_LEN);
  const y = new Array(examples);
  for (let e = 0; e < examples; e++) {
    let cur = popular();
    for (let t = 0; t <= SEQ_LEN; t++) {
      if (t === SEQ_LEN) y[e] = cur;
      else x[e * SEQ_LEN + t] = cur;
      cur = r() < 0.6 ? succ[cur][Math.floor(r() * 3)] : popular();
    }
  }
  writeFileSync(
    file,
    JSON.stringify({ generator: 'bench/train/run.mjs', seed: SEED, items: ITEMS, seqLen: SEQ_LEN, n: examples, x, y }),
  );
}

function runJson(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_ROOT: root, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => resolve({ error: String(e) }));
    child.on('close', (code) => {
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1);
      if (code === 0 && line) resolve(JSON.parse(line));
      else resolve({ error: `exit ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}` });
    });
  });
}

const dataDir = path.join(root, '.cache/tfjs-node/bench');
mkdirSync(dataDir, { recursive: true });
const legacy = new Set(['tensorflow', 'tensorflow-ops', 'tensorflow-fused', 'wasm', 'wasm-ops', 'keras']);
const dataFile = path.join(dataDir, `train-seed${SEED}-n${examples}-items${ITEMS}-len${SEQ_LEN}.json`);
if (backends.some((b) => legacy.has(b)) && !existsSync(dataFile)) generate(dataFile);

const BENCH_PARAMS = {
  embeddingDim: 64,
  hiddenUnits: 64,
  maxLen: SEQ_LEN,
  batchSize: 128,
  learningRate: 1e-3,
  seed: 42,
};

/**
 * The data file of the skiff/Keras runners: the sessions (what skiff's trainer reads), each
 * model's params and initial weights, and for Keras the examples as skiff builds them (vocabulary
 * ids, every prefix left-padded to maxLen, target = id − 1) with skiff's per-epoch order.
 * Uses the product's own vocabulary, example and initialisation code (WASM in this process: the
 * seeded initialisers are computed in JS, the same on every backend).
 */
async function writeSkiffData(file) {
  const m = await importSkiff('model');
  const { shuffleInPlace } = await importSkiff('model', 'random.js');
  m.setBackendPreference('wasm');
  await m.initBackend();
  const r = rng(SEED);
  const popular = () => Math.min(ITEMS - 1, Math.floor(ITEMS * r() ** 3));
  const succ = Array.from({ length: ITEMS }, () => [popular(), popular(), Math.floor(r() * ITEMS)]);
  const sessions = Array.from({ length: sessionCount }, () => {
    let cur = popular();
    return Array.from({ length: SEQ_LEN + 1 }, () => {
      const item = `i${cur}`;
      cur = r() < 0.6 ? succ[cur][Math.floor(r() * 3)] : popular();
      return item;
    });
  });
  const vocab = m.Vocabulary.fromSessions(sessions);
  const V = vocab.size;
  // negatives ≥ items: every item is a candidate (the full softmax), like Keras' Dense(items).
  const params = {
    gru4rec: { model: 'gru4rec', ...BENCH_PARAMS, negatives: V, cell: 'reset-before' },
    sasrec: { model: 'sasrec', ...BENCH_PARAMS, negatives: V, blocks: 2, heads: 1 },
  };
  const ex = m.prefixExamples(
    sessions.map((s) => s.map((i) => vocab.id(i))),
    SEQ_LEN,
  );
  const n = ex.target.length;
  const x = new Array(n * SEQ_LEN).fill(0);
  const y = new Array(n);
  for (let e = 0; e < n; e++) {
    const len = ex.length[e];
    for (let j = 0; j < len; j++) x[e * SEQ_LEN + SEQ_LEN - len + j] = ex.flat[ex.start[e] + j];
    y[e] = ex.target[e] - 1;
  }
  // The trainer's shuffle (packages/model/src/neural-trainer.ts): one seeded Fisher–Yates per epoch.
  const orders = Array.from({ length: epochs }, (_, e) => {
    const order = Int32Array.from({ length: n }, (_, i) => i);
    shuffleInPlace(order, rng(params.gru4rec.seed * 1009 + e * 7919 + 1));
    return Array.from(order);
  });
  const weights = {};
  for (const kind of ['gru4rec', 'sasrec']) {
    const w = m.initWeights(kind, V, params[kind]);
    weights[kind] = Object.fromEntries(
      Object.entries(w).map(([name, t]) => [name, { shape: t.shape, values: Array.from(t.dataSync()) }]),
    );
    for (const t of Object.values(w)) t.dispose();
  }
  writeFileSync(
    file,
    JSON.stringify({
      generator: 'bench/train/run.mjs',
      seed: SEED,
      sessions,
      params,
      weights,
      keras: { items: V, n, x, y, orders },
    }),
  );
}

const skiffFile = path.join(
  dataDir,
  `skiff-train-seed${SEED}-s${sessionCount}-items${ITEMS}-len${SEQ_LEN}-e${epochs}.json`,
);
if (backends.some((b) => !legacy.has(b)) && !existsSync(skiffFile)) await writeSkiffData(skiffFile);
const python = process.env.SKIFF_KERAS_PYTHON ?? path.join(root, '.cache/tfjs-node/venv/bin/python');
const noPython = { error: `no ${python}; set SKIFF_KERAS_PYTHON or run: bash infra/tfjs-node/install.sh --venv` };

const results = {};
/** Every round's result per runner (rounds > 1: the runners alternate, so each round sees about the same load). */
const rounds = {};
for (let round = 0; round < roundCount; round++)
  for (const b of backends) {
    let res;
    const skiff = /^skiff-(gru4rec|sasrec)(?:-(reset-after))?(-wasm)?$/.exec(b);
    const keras = /^keras-(gru4rec|sasrec)$/.exec(b);
    if (skiff) {
      res = await runJson(process.execPath, [
        path.join(here, 'skiff_trainer.mjs'),
        skiff[1],
        skiff[3] ? 'wasm' : 'tensorflow',
        skiffFile,
        String(epochs),
        ...(skiff[2] ? [skiff[2]] : []),
      ]);
    } else if (keras) {
      res = existsSync(python)
        ? await runJson(python, [path.join(here, 'keras_skiff.py'), keras[1], skiffFile, String(epochs)])
        : noPython;
    } else if (b === 'keras') {
      res = existsSync(python)
        ? await runJson(python, [path.join(here, 'keras_gru.py'), dataFile, String(epochs)])
        : noPython;
    } else if (b === 'tensorflow-fused') {
      res = await runJson(process.execPath, [path.join(here, 'tfjs_gru_block.mjs'), dataFile, String(epochs)]);
    } else if (b.endsWith('-ops')) {
      res = await runJson(process.execPath, [
        path.join(here, 'tfjs_gru_ops.mjs'),
        b.slice(0, -'-ops'.length),
        dataFile,
        String(epochs),
      ]);
    } else if (legacy.has(b)) {
      res = await runJson(process.execPath, [path.join(here, 'tfjs_gru.mjs'), b, dataFile, String(epochs)]);
    } else res = { error: `unknown runner ${b}` };
    const name =
      {
        tensorflow: 'tfjs-node',
        'tensorflow-ops': 'tfjs-node-ops',
        'tensorflow-fused': 'tfjs-node-fused',
        wasm: 'tfjs-wasm',
        'wasm-ops': 'tfjs-wasm-ops',
        keras: 'keras-tf',
      }[b] ?? b;
    if (res.error) res = { bench: 'train', backend: name, skipped: true, error: res.error };
    if (roundCount > 1) res = { ...res, round };
    (rounds[name] ??= []).push(res);
    console.log(JSON.stringify(res));
  }
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
// One result per runner: the last round's, with samplesPerSec the median over the rounds.
for (const [name, list] of Object.entries(rounds)) {
  const ok = list.filter((r) => r.samplesPerSec);
  results[name] = ok.length
    ? { ...ok.at(-1), samplesPerSec: Math.round(median(ok.map((r) => r.samplesPerSec))), rounds: ok.length }
    : list.at(-1);
}

const sps = (k) => results[k]?.samplesPerSec;
const ratio = (a, b) => (sps(a) && sps(b) ? +(sps(a) / sps(b)).toFixed(2) : null);
const ratios = Object.fromEntries(
  [
    ['skiff-gru4rec/keras', 'skiff-gru4rec', 'keras-gru4rec'],
    ['skiff-sasrec/keras', 'skiff-sasrec', 'keras-sasrec'],
    ['skiff-gru4rec-wasm/keras', 'skiff-gru4rec-wasm', 'keras-gru4rec'],
    ['skiff-sasrec-wasm/keras', 'skiff-sasrec-wasm', 'keras-sasrec'],
    ['skiff-gru4rec/skiff-gru4rec-wasm', 'skiff-gru4rec', 'skiff-gru4rec-wasm'],
    ['skiff-gru4rec-reset-after/keras', 'skiff-gru4rec-reset-after', 'keras-gru4rec'],
    ['tfjs-node/tfjs-wasm', 'tfjs-node', 'tfjs-wasm'],
    ['keras-tf/tfjs-node', 'keras-tf', 'tfjs-node'],
    ['tfjs-node-fused/keras-tf', 'tfjs-node-fused', 'keras-tf'],
    ['tfjs-node-ops/keras-tf', 'tfjs-node-ops', 'keras-tf'],
    ['tfjs-node/keras-tf', 'tfjs-node', 'keras-tf'],
    ['tfjs-node-ops/tfjs-node', 'tfjs-node-ops', 'tfjs-node'],
    ['keras-tf/tfjs-wasm', 'keras-tf', 'tfjs-wasm'],
  ]
    .filter(([, a, b]) => results[a] && results[b])
    .map(([key, a, b]) => [key, ratio(a, b)]),
);
const perRound =
  roundCount > 1
    ? Object.fromEntries(
        [
          ['skiff-gru4rec/keras', 'skiff-gru4rec', 'keras-gru4rec'],
          ['skiff-sasrec/keras', 'skiff-sasrec', 'keras-sasrec'],
        ]
          .filter(([, a, b]) => rounds[a] && rounds[b])
          .map(([key, a, b]) => [
            key,
            rounds[a].map((r, i) =>
              r.samplesPerSec && rounds[b][i]?.samplesPerSec
                ? +(r.samplesPerSec / rounds[b][i].samplesPerSec).toFixed(2)
                : null,
            ),
          ]),
      )
    : undefined;
// The same ratios per CPU second (user + system time of each process): less sensitive to other
// jobs on a shared machine than wall-clock samples/s (median over the rounds).
const cpuRatios = Object.fromEntries(
  [
    ['skiff-gru4rec/keras', 'skiff-gru4rec', 'keras-gru4rec'],
    ['skiff-sasrec/keras', 'skiff-sasrec', 'keras-sasrec'],
    ['skiff-gru4rec-reset-after/keras', 'skiff-gru4rec-reset-after', 'keras-gru4rec'],
  ]
    .filter(([, a, b]) => rounds[a]?.some((r) => r.samplesPerCpuSec) && rounds[b]?.some((r) => r.samplesPerCpuSec))
    .map(([key, a, b]) => {
      const cpu = (k) => median(rounds[k].filter((r) => r.samplesPerCpuSec).map((r) => r.samplesPerCpuSec));
      return [key, +(cpu(a) / cpu(b)).toFixed(2)];
    }),
);
const targets = { 'skiff-gru4rec/keras': 0.8, 'skiff-sasrec/keras': 0.6 };
console.log(
  JSON.stringify({
    bench: 'train',
    ratios,
    ...(perRound ? { perRound } : {}),
    cpuRatios,
    targets: Object.fromEntries(
      Object.entries(targets)
        .filter(([k]) => k in ratios)
        .map(([k, t]) => [k, { target: t, reached: ratios[k] !== null && ratios[k] >= t }]),
    ),
  }),
);

// Same initial weights, examples, order, loss and optimizer: the losses per epoch must agree.
const losses = {};
for (const kind of ['gru4rec', 'sasrec']) {
  const runs = [`skiff-${kind}`, `skiff-${kind}-wasm`, `keras-${kind}`].filter((k) => results[k]?.loss);
  if (runs.length < 2) continue;
  // Agreement to 2 decimals: every epoch's losses within 0.005 of each other (comparing
  // toFixed(2) strings would call 6.5349 and 6.5350 different).
  const maxAbsDiff = Math.max(
    ...results[runs[0]].loss.map((_, e) => {
      const vs = runs.map((k) => results[k].loss[e]);
      return Math.max(...vs) - Math.min(...vs);
    }),
  );
  losses[kind] = {
    ...Object.fromEntries(runs.map((k) => [k, results[k].loss])),
    maxAbsDiff: +maxAbsDiff.toFixed(4),
    equalTo2Decimals: maxAbsDiff < 0.005,
  };
}
if (Object.keys(losses).length) console.log(JSON.stringify({ bench: 'train', losses }));
