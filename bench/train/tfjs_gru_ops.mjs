// The bench/train model written with tfjs ops and an explicit optimizer loop instead of the Layers
// API — how skiff's own GRU4Rec (packages/model/src/gru4rec.ts) is written. Same architecture,
// sizes, optimizer, loss, batch and data as tfjs_gru.mjs and keras_gru.py:
//   Embedding(items, 64) → GRU(64, reset_after=False) → Dense(items) + softmax CE, Adam 1e-3, batch 128.
// Fewer kernel calls per step than the Layers GRU: the input projection of every time step is one
// matMul, the z and r gates share one recurrent matMul, and the loss is logSumExp − the target logit
// (no one-hot of the 2,000-item output). Prints one JSON line.
// usage: node bench/train/tfjs_gru_ops.mjs <tensorflow|wasm> <data.json> [epochs]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = process.env.SKIFF_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootRequire = createRequire(path.join(root, 'package.json'));
const importFromRoot = (name) => import(pathToFileURL(rootRequire.resolve(name)).href);

const [backend, dataFile, epochsArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 2);
const BATCH = 128;
const EMBED = 64;
const UNITS = 64;

const tf = await importFromRoot('@tensorflow/tfjs');
if (backend === 'tensorflow') await importFromRoot('@tensorflow/tfjs-node');
else if (backend === 'wasm') {
  const wasm = await importFromRoot('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(rootRequire.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
  const { unsortedSegmentSumWasm } = await import(pathToFileURL(path.join(root, 'packages/model/dist/backend.js')).href);
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm });
} else throw new Error(`unknown backend ${backend}`);
if (!(await tf.setBackend(backend))) throw new Error(`setBackend('${backend}') failed`);
await tf.ready();
const { mulberry32 } = await import(pathToFileURL(path.join(root, 'packages/core/dist/index.js')).href);

const data = JSON.parse(readFileSync(dataFile, 'utf8'));
const { items, seqLen: T, n } = data;
const X = Int32Array.from(data.x);
const Y = Int32Array.from(data.y);

// Keras' default initializers for these layers: uniform(±0.05) embeddings, Glorot-uniform kernels,
// orthogonal recurrent kernel, zero biases.
const glorot = (shape, seed) => tf.initializers.glorotUniform({ seed }).apply(shape);
const emb = tf.variable(tf.randomUniform([items, EMBED], -0.05, 0.05, 'float32', 1));
const W = tf.variable(glorot([EMBED, 3 * UNITS], 2));
const recurrent = tf.initializers.orthogonal({ seed: 3 }).apply([UNITS, 3 * UNITS]);
const [uzr, uh] = tf.split(recurrent, [2 * UNITS, UNITS], 1);
const Uzr = tf.variable(uzr);
const Uh = tf.variable(uh);
const b = tf.variable(tf.zeros([3 * UNITS]));
const K = tf.variable(glorot([UNITS, items], 4));
const kb = tf.variable(tf.zeros([items]));
const optimizer = tf.train.adam(1e-3);

function loss(xb, yb, rows) {
  const x = tf.gather(emb, xb.reshape([-1]));
  const proj = tf.matMul(x, W).add(b).reshape([rows, T, 3 * UNITS]);
  const steps = tf.unstack(proj, 1);
  let h = tf.zeros([rows, UNITS]);
  for (let t = 0; t < T; t++) {
    const [xzr, xh] = tf.split(steps[t], [2 * UNITS, UNITS], 1);
    const [z, r] = tf.split(tf.sigmoid(xzr.add(tf.matMul(h, Uzr))), 2, 1);
    const candidate = tf.tanh(xh.add(tf.matMul(r.mul(h), Uh)));
    h = candidate.add(z.mul(h.sub(candidate))); // z·h + (1 − z)·candidate
  }
  const logits = tf.matMul(h, K).add(kb);
  const target = tf.gather(logits.reshape([-1]), tf.range(0, rows * items, items, 'int32').add(yb));
  return tf.logSumExp(logits, 1).sub(target).mean();
}

const rng = mulberry32(5);
const order = Int32Array.from({ length: n }, (_, i) => i);
const epochSeconds = [];
const losses = [];
const t0 = performance.now();
for (let e = 0; e < epochs; e++) {
  const start = performance.now();
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let sum = tf.scalar(0);
  for (let s = 0; s < n; s += BATCH) {
    const rows = Math.min(BATCH, n - s);
    const xb = new Int32Array(rows * T);
    const yb = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const p = order[s + i];
      xb.set(X.subarray(p * T, p * T + T), i * T);
      yb[i] = Y[p];
    }
    const xt = tf.tensor2d(xb, [rows, T], 'int32');
    const yt = tf.tensor1d(yb, 'int32');
    const l = optimizer.minimize(() => loss(xt, yt, rows), true);
    const next = tf.tidy(() => sum.add(l.mul(rows)));
    sum.dispose();
    sum = next;
    tf.dispose([xt, yt, l]);
  }
  losses.push((await sum.data())[0] / n); // one read per epoch: no sync inside the batch loop
  sum.dispose();
  epochSeconds.push((performance.now() - start) / 1000);
}
const seconds = (performance.now() - t0) / 1000;
const steady = epochSeconds.length > 1 ? epochSeconds.at(-1) : seconds;
console.log(
  JSON.stringify({
    bench: 'train',
    backend: backend === 'tensorflow' ? 'tfjs-node-ops' : 'tfjs-wasm-ops',
    samplesPerSec: Math.round(n / steady),
    seconds: +seconds.toFixed(2),
    epochSeconds: epochSeconds.map((s) => +s.toFixed(2)),
    samplesPerSecAllEpochs: Math.round((n * epochs) / seconds),
    loss: losses.map((v) => +v.toFixed(4)),
    examples: n,
    epochs,
    batch: BATCH,
    tfBackend: tf.getBackend(),
    tensorsLeft: tf.memory().numTensors,
  }),
);
