// What the bench/train runners share: the data file, Keras' default initial weights, the explicit
// training loop of the hand-written variants, and the one JSON line each prints.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Packages are resolved from SKIFF_ROOT (default: this repository). */
const root = process.env.SKIFF_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootRequire = createRequire(path.join(root, 'package.json'));
const importFromRoot = (name) => import(pathToFileURL(rootRequire.resolve(name)).href);
/** A built skiff package's dist entry (npm run build first). */
export const importSkiff = (pkg, file = 'index.js') =>
  import(pathToFileURL(path.join(root, 'packages', pkg, 'dist', file)).href);

/**
 * tfjs on `tensorflow` (tfjs-node) or `wasm`, with skiff's UnsortedSegmentSum kernel for WASM
 * (the embedding gradient, packages/model/src/backend.ts). Returns tf; `rootRequire` for tfjs-node internals.
 */
export async function setupTf(backend) {
  const tf = await importFromRoot('@tensorflow/tfjs');
  if (backend === 'tensorflow') await importFromRoot('@tensorflow/tfjs-node');
  else if (backend === 'wasm') {
    const wasm = await importFromRoot('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(
      path.dirname(rootRequire.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep,
    );
    const { unsortedSegmentSumWasm } = await importSkiff('model', 'backend.js');
    if (!tf.getKernel('UnsortedSegmentSum', 'wasm'))
      tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm });
  } else throw new Error(`unknown backend ${backend}`);
  if (!(await tf.setBackend(backend))) throw new Error(`setBackend('${backend}') failed`);
  await tf.ready();
  return { tf, rootRequire };
}

export const BATCH = 128;
export const EMBED = 64;
export const UNITS = 64;

/** The generated examples (bench/train/run.mjs): `seqLen` item ids per example, then its target. */
export function readBenchData(dataFile) {
  const data = JSON.parse(readFileSync(dataFile, 'utf8'));
  return { items: data.items, T: data.seqLen, n: data.n, X: Int32Array.from(data.x), Y: Int32Array.from(data.y) };
}

/**
 * Keras' default initial weights for Embedding → GRU → Dense: uniform(±0.05) embeddings,
 * Glorot-uniform kernels, an orthogonal recurrent kernel (gate blocks z|r|h, Keras' order).
 */
export function kerasInitialWeights(tf, items) {
  const glorot = (shape, seed) => tf.initializers.glorotUniform({ seed }).apply(shape);
  return {
    emb: tf.randomUniform([items, EMBED], -0.05, 0.05, 'float32', 1),
    kernel: glorot([EMBED, 3 * UNITS], 2),
    recurrent: tf.initializers.orthogonal({ seed: 3 }).apply([UNITS, 3 * UNITS]),
    dense: glorot([UNITS, items], 4),
  };
}

/**
 * Seeded shuffle, batches of BATCH, `optimizer.minimize(loss)` per batch; the mean loss is read
 * once per epoch (no GPU/CPU sync inside the batch loop). Returns per-epoch seconds and losses.
 */
export async function trainLoop({ tf, rng, data, epochs, optimizer, loss }) {
  const { n, T, X, Y } = data;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const epochSeconds = [];
  const losses = [];
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
    losses.push((await sum.data())[0] / n);
    sum.dispose();
    epochSeconds.push((performance.now() - start) / 1000);
  }
  return { epochSeconds, losses };
}

/**
 * Prints the runner's JSON line. samplesPerSec is the last epoch's (steady state), or with
 * `steady: 'best'` the fastest epoch after the first (the first pays tracing and warm-up): on a
 * machine shared with other jobs the least disturbed epoch is the best estimate of the runtime's own pace.
 */
export function report({
  backend,
  n,
  epochs,
  seconds,
  epochSeconds,
  losses,
  batch = BATCH,
  steady: stat = 'last',
  extra = {},
}) {
  const steady =
    epochSeconds.length > 1 ? (stat === 'best' ? Math.min(...epochSeconds.slice(1)) : epochSeconds.at(-1)) : seconds;
  console.log(
    JSON.stringify({
      bench: 'train',
      backend,
      samplesPerSec: Math.round(n / steady),
      samplesPerSecIs:
        epochSeconds.length > 1 ? (stat === 'best' ? 'best epoch after the first' : 'last epoch') : 'all',
      seconds: +seconds.toFixed(2),
      epochSeconds: epochSeconds.map((s) => +s.toFixed(2)),
      samplesPerSecAllEpochs: Math.round((n * epochs) / seconds),
      loss: losses.map((v) => +v.toFixed(4)),
      examples: n,
      epochs,
      batch,
      ...extra,
    }),
  );
}
