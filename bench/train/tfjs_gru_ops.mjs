// The bench/train model written with tfjs ops and an explicit optimizer loop instead of the Layers
// API — how skiff's own GRU4Rec (packages/model/src/neural-*.ts) is written. Same architecture,
// sizes, optimizer, loss, batch and data as tfjs_gru.mjs and keras_gru.py:
//   Embedding(items, 64) → GRU(64, reset_after=False) → Dense(items) + softmax CE, Adam 1e-3, batch 128.
// Fewer kernel calls per step than the Layers GRU: the input projection of every time step is one
// matMul, the z and r gates share one recurrent matMul, and the loss is logSumExp − the target logit
// (no one-hot of the 2,000-item output). Prints one JSON line.
// usage: node bench/train/tfjs_gru_ops.mjs <tensorflow|wasm> <data.json> [epochs]
import { UNITS, importSkiff, kerasInitialWeights, readBenchData, report, setupTf, trainLoop } from './shared.mjs';

const [backend, dataFile, epochsArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 2);
const { tf } = await setupTf(backend);
const { mulberry32 } = await importSkiff('core');

const data = readBenchData(dataFile);
const { items, T } = data;
const init = kerasInitialWeights(tf, items);
const emb = tf.variable(init.emb);
const W = tf.variable(init.kernel);
const [uzr, uh] = tf.split(init.recurrent, [2 * UNITS, UNITS], 1);
const Uzr = tf.variable(uzr);
const Uh = tf.variable(uh);
const b = tf.variable(tf.zeros([3 * UNITS]));
const K = tf.variable(init.dense);
const kb = tf.variable(tf.zeros([items]));
const optimizer = tf.train.adam(1e-3);

function loss(xb, yb, rows) {
  const x = tf.gather(emb, xb.reshape([-1]));
  const proj = tf
    .matMul(x, W)
    .add(b)
    .reshape([rows, T, 3 * UNITS]);
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

const t0 = performance.now();
const timing = await trainLoop({ tf, rng: mulberry32(5), data, epochs, optimizer, loss });
report({
  backend: backend === 'tensorflow' ? 'tfjs-node-ops' : 'tfjs-wasm-ops',
  n: data.n,
  epochs,
  seconds: (performance.now() - t0) / 1000,
  ...timing,
  extra: { tfBackend: tf.getBackend(), tensorsLeft: tf.memory().numTensors },
});
