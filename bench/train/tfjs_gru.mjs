// One training run of the GRU4Rec-style bench model on one tfjs backend, in its own process
// (spawned by bench/train/run.mjs). Prints one JSON line.
// usage: node bench/train/tfjs_gru.mjs <tensorflow|wasm> <data.json> [epochs]
// Packages are resolved from SKIFF_ROOT (default: this repository).
import { BATCH, EMBED, UNITS, readBenchData, report, setupTf } from './shared.mjs';

const [backend, dataFile, epochsArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 2);
const { tf } = await setupTf(backend);
const { items, T: seqLen, n, X, Y } = readBenchData(dataFile);
const xs = tf.tensor2d(X, [n, seqLen], 'int32');
const ys = tf.tensor1d(Float32Array.from(Y), 'float32');

const model = tf.sequential({
  layers: [
    tf.layers.embedding({
      inputDim: items,
      outputDim: EMBED,
      inputLength: seqLen,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 1 }),
    }),
    tf.layers.gru({
      units: UNITS,
      resetAfter: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: 3 }),
    }),
    tf.layers.dense({
      units: items,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
    }),
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
report({
  backend: backend === 'tensorflow' ? 'tfjs-node' : 'tfjs-wasm',
  n,
  epochs,
  seconds: (performance.now() - t0) / 1000,
  epochSeconds,
  losses: h.history.loss,
  extra: {
    tfBackend: tf.getBackend(),
    ...(backend === 'wasm'
      ? {
          wasmSimd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
          wasmThreads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
        }
      : { libtensorflow: tf.backend().binding?.TF_Version }),
  },
});
