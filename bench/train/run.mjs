// Training throughput of the GRU4Rec-style next-item model on three runtimes:
//   tfjs-node (libtensorflow from the PyPI wheel, infra/tfjs-node/install.sh),
//   tfjs WASM (+ the UnsortedSegmentSum kernel), and Keras on Python TensorFlow (same wheel,
//   venv from `bash infra/tfjs-node/install.sh --venv`).
// Model: Embedding(2000, 64) → GRU(64) → Dense(2000, softmax), Adam 1e-3, sparse CE, batch 128,
// seq len 10, ~20k synthetic examples written once to a shared file by a seeded generator.
// Each backend trains in its own process, one after another (2-core box). One JSON line per
// backend, then one line of ratios. samplesPerSec is measured on the last epoch (steady state).
// tfjs runs twice per backend: with the Layers API (model.fit, tfjs_gru.mjs) and written with ops and an
// optimizer loop (tfjs_gru_ops.mjs, how skiff's GRU4Rec is written): `tensorflow-ops`, `wasm-ops`; and on
// tfjs-node with TensorFlow's fused GRU cell and cross-entropy kernels (tfjs_gru_block.mjs): `tensorflow-fused`.
// usage: node bench/train/run.mjs [epochs=3] [examples=20000] [backends=tensorflow,tensorflow-ops,tensorflow-fused,wasm,wasm-ops,keras]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as rng } from '../../packages/core/dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.SKIFF_ROOT ?? path.resolve(here, '../..');
const epochs = Number(process.argv[2] ?? 3);
const examples = Number(process.argv[3] ?? 20_000);
const backends = (process.argv[4] ?? 'tensorflow,tensorflow-ops,tensorflow-fused,wasm,wasm-ops,keras').split(',');
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
const dataFile = path.join(dataDir, `train-seed${SEED}-n${examples}-items${ITEMS}-len${SEQ_LEN}.json`);
if (!existsSync(dataFile)) generate(dataFile);

const results = {};
for (const b of backends) {
  let res;
  if (b === 'keras') {
    const py = path.join(root, '.cache/tfjs-node/venv/bin/python');
    res = existsSync(py)
      ? await runJson(py, [path.join(here, 'keras_gru.py'), dataFile, String(epochs)])
      : { error: `no ${py}; run: bash infra/tfjs-node/install.sh --venv` };
  } else if (b === 'tensorflow-fused') {
    res = await runJson(process.execPath, [path.join(here, 'tfjs_gru_block.mjs'), dataFile, String(epochs)]);
  } else if (b.endsWith('-ops')) {
    res = await runJson(process.execPath, [
      path.join(here, 'tfjs_gru_ops.mjs'),
      b.slice(0, -'-ops'.length),
      dataFile,
      String(epochs),
    ]);
  } else {
    res = await runJson(process.execPath, [path.join(here, 'tfjs_gru.mjs'), b, dataFile, String(epochs)]);
  }
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
  results[name] = res;
  console.log(JSON.stringify(res));
}

const sps = (k) => results[k]?.samplesPerSec;
const ratio = (a, b) => (sps(a) && sps(b) ? +(sps(a) / sps(b)).toFixed(2) : null);
console.log(
  JSON.stringify({
    bench: 'train',
    ratios: {
      'tfjs-node/tfjs-wasm': ratio('tfjs-node', 'tfjs-wasm'),
      'keras-tf/tfjs-node': ratio('keras-tf', 'tfjs-node'),
      'tfjs-node-fused/keras-tf': ratio('tfjs-node-fused', 'keras-tf'),
      'tfjs-node-ops/keras-tf': ratio('tfjs-node-ops', 'keras-tf'),
      'tfjs-node/keras-tf': ratio('tfjs-node', 'keras-tf'),
      'tfjs-node-ops/tfjs-node': ratio('tfjs-node-ops', 'tfjs-node'),
      'keras-tf/tfjs-wasm': ratio('keras-tf', 'tfjs-wasm'),
    },
  }),
);
