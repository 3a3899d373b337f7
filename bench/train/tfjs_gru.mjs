// One training run of the GRU4Rec-style bench model on one tfjs backend, in its own process
// (spawned by bench/train/run.mjs). Prints one JSON line.
// usage: node bench/train/tfjs_gru.mjs <tensorflow|wasm> <data.json> [epochs]
// Packages are resolved from SKIFF_ROOT (default: this repository).
import { existsSync, readFileSync } from 'node:fs';
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

/** UnsortedSegmentSum for WASM (gradient of the embedding gather); same as packages/model/src/backend.ts. */
function unsortedSegmentSumWasm({ inputs, backend: b, attrs }) {
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  const xv = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = rest.reduce((a, d) => a * d, 1);
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const xo = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += xv[xo + j];
  }
  return b.makeOutput([numSegments, ...rest], 'float32', undefined, out);
}

async function setup() {
  const tf = await importFromRoot('@tensorflow/tfjs');
  if (backend === 'tensorflow') {
    await importFromRoot('@tensorflow/tfjs-node');
    if (!(await tf.setBackend('tensorflow'))) throw new Error("setBackend('tensorflow') failed");
    return { tf, kernel: 'native' };
  }
  if (backend !== 'wasm') throw new Error(`unknown backend ${backend}`);
  const wasm = await importFromRoot('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(rootRequire.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
  // Prefer the model package's kernel (built dist); fall back to the copy above.
  let kernelFunc = unsortedSegmentSumWasm;
  let kernel = 'bench copy';
  const modelBackend = path.join(root, 'packages/model/dist/backend.js');
  if (existsSync(modelBackend)) {
    try {
      const m = await import(pathToFileURL(modelBackend).href);
      if (typeof m.unsortedSegmentSumWasm === 'function') {
        kernelFunc = m.unsortedSegmentSumWasm;
        kernel = 'packages/model/dist/backend.js';
      }
    } catch {
      // model dist not importable right now: keep the bench copy
    }
  }
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc });
  }
  if (!(await tf.setBackend('wasm'))) throw new Error("setBackend('wasm') failed");
  return { tf, kernel };
}

const { tf, kernel } = await setup();
await tf.ready();
const data = JSON.parse(readFileSync(dataFile, 'utf8'));
const { items, seqLen, n } = data;
const xs = tf.tensor2d(Int32Array.from(data.x), [n, seqLen], 'int32');
const ys = tf.tensor1d(Float32Array.from(data.y), 'float32');

const model = tf.sequential({
  layers: [
    tf.layers.embedding({ inputDim: items, outputDim: EMBED, inputLength: seqLen, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 1 }) }),
    tf.layers.gru({ units: UNITS, resetAfter: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), recurrentInitializer: tf.initializers.orthogonal({ seed: 3 }) }),
    tf.layers.dense({ units: items, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
  ],
});
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });

const epochSeconds = [];
let epochStart = 0;
const t0 = performance.now();
const h = await model.fit(xs, ys, {
  epochs,
  batchSize: BATCH,
  shuffle: true,
  verbose: 0,
  yieldEvery: 'never',
  callbacks: {
    onEpochBegin: async () => {
      epochStart = performance.now();
    },
    onEpochEnd: async () => {
      epochSeconds.push((performance.now() - epochStart) / 1000);
    },
  },
});
const seconds = (performance.now() - t0) / 1000;
const steady = epochSeconds.length > 1 ? epochSeconds.at(-1) : seconds;
console.log(
  JSON.stringify({
    bench: 'train',
    backend: backend === 'tensorflow' ? 'tfjs-node' : 'tfjs-wasm',
    samplesPerSec: Math.round(n / steady),
    seconds: +seconds.toFixed(2),
    epochSeconds: epochSeconds.map((s) => +s.toFixed(2)),
    samplesPerSecAllEpochs: Math.round((n * epochs) / seconds),
    loss: h.history.loss.map((v) => +v.toFixed(4)),
    examples: n,
    epochs,
    batch: BATCH,
    tfBackend: tf.getBackend(),
    ...(backend === 'wasm' ? { unsortedSegmentSum: kernel, wasmSimd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), wasmThreads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') } : { libtensorflow: tf.backend().binding?.TF_Version }),
  }),
);
