// The bench/train model on tfjs-node with TensorFlow's fused GRU cell kernels (`GRUBlockCell` and
// `GRUBlockCellGrad`, the reset-before GRU that Keras' reset_after=False computes), called through
// the tfjs-node backend and wrapped in tf.customGrad over the whole sequence. Same architecture,
// sizes, optimizer, loss, batch and data as tfjs_gru.mjs / tfjs_gru_ops.mjs / keras_gru.py.
// One kernel call per time step forward and one backward (instead of ~12 and ~30); the weight
// gradients of every step are one matMul each; the loss is TensorFlow's fused
// SparseSoftmaxCrossEntropyWithLogits (which also returns its gradient). tfjs-node only.
// Prints one JSON line. usage: node bench/train/tfjs_gru_block.mjs <data.json> [epochs]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = process.env.SKIFF_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootRequire = createRequire(path.join(root, 'package.json'));
const importFromRoot = (name) => import(pathToFileURL(rootRequire.resolve(name)).href);

const [dataFile, epochsArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 2);
const BATCH = 128;
const EMBED = 64;
const UNITS = 64;

const tf = await importFromRoot('@tensorflow/tfjs');
await importFromRoot('@tensorflow/tfjs-node');
if (!(await tf.setBackend('tensorflow'))) throw new Error("setBackend('tensorflow') failed");
const { createTensorsTypeOpAttr } = rootRequire(rootRequire.resolve('@tensorflow/tfjs-node/dist/nodejs_kernel_backend.js'));
const { mulberry32 } = await import(pathToFileURL(path.join(root, 'packages/core/dist/index.js')).href);
const backend = tf.backend();
const F32 = [createTensorsTypeOpAttr('T', 'float32')];
/** outputs r, u, c, h */
const cell = (x, h, wru, wc, bru, bc) => backend.executeMultipleOutputs('GRUBlockCell', F32, [x, h, wru, wc, bru, bc], 4);
/** outputs d_x, d_h_prev, d_c_bar, d_r_bar_u_bar */
const cellGrad = (x, h, wru, wc, bru, bc, r, u, c, dh) => backend.executeMultipleOutputs('GRUBlockCellGrad', F32, [x, h, wru, wc, bru, bc, r, u, c, dh], 4);

const data = JSON.parse(readFileSync(dataFile, 'utf8'));
const { items, seqLen: T, n } = data;
const X = Int32Array.from(data.x);
const Y = Int32Array.from(data.y);

// Keras' default initializers (see tfjs_gru_ops.mjs); rows [input kernel; recurrent kernel].
const glorot = (shape, seed) => tf.initializers.glorotUniform({ seed }).apply(shape);
const emb = tf.variable(tf.randomUniform([items, EMBED], -0.05, 0.05, 'float32', 1));
const kernel = glorot([EMBED, 3 * UNITS], 2);
const recurrent = tf.initializers.orthogonal({ seed: 3 }).apply([UNITS, 3 * UNITS]);
const [kRu, kC] = tf.split(kernel, [2 * UNITS, UNITS], 1);
const [rRu, rC] = tf.split(recurrent, [2 * UNITS, UNITS], 1);
const wRu = tf.variable(tf.concat([kRu, rRu], 0));
const wC = tf.variable(tf.concat([kC, rC], 0));
const bRu = tf.variable(tf.zeros([2 * UNITS]));
const bC = tf.variable(tf.zeros([UNITS]));
const K = tf.variable(glorot([UNITS, items], 4));
const kb = tf.variable(tf.zeros([items]));
const optimizer = tf.train.adam(1e-3);

/** Final hidden state of the GRU over x [T, B, E] (time-major), with the fused kernels' gradient. */
const gru = tf.customGrad((x, wru, wc, bru, bc, save) => {
  const rows = x.shape[1];
  const xs = tf.unstack(x);
  const hs = [tf.zeros([rows, UNITS])];
  const rs = [];
  const us = [];
  const cs = [];
  for (let t = 0; t < T; t++) {
    const [r, u, c, h] = cell(xs[t], hs[t], wru, wc, bru, bc);
    rs.push(r);
    us.push(u);
    cs.push(c);
    hs.push(h);
  }
  save([x, ...hs.slice(0, T), ...rs, ...us, ...cs]);
  return {
    value: hs[T],
    gradFunc: (dy, saved) => {
      const [xAll, ...rest] = saved;
      const hPrev = rest.slice(0, T);
      const r = rest.slice(T, 2 * T);
      const u = rest.slice(2 * T, 3 * T);
      const c = rest.slice(3 * T, 4 * T);
      const xt = tf.unstack(xAll);
      const dx = new Array(T);
      const dcBar = new Array(T);
      const druBar = new Array(T);
      let dh = dy;
      for (let t = T - 1; t >= 0; t--) {
        [dx[t], dh, dcBar[t], druBar[t]] = cellGrad(xt[t], hPrev[t], wru, wc, bru, bc, r[t], u[t], c[t], dh);
      }
      const H = tf.stack(hPrev);
      const xh = tf.concat([xAll, H], 2).reshape([T * rows, EMBED + UNITS]);
      const xhr = tf.concat([xAll, H.mul(tf.stack(r))], 2).reshape([T * rows, EMBED + UNITS]);
      const dRu = tf.stack(druBar).reshape([T * rows, 2 * UNITS]);
      const dC = tf.stack(dcBar).reshape([T * rows, UNITS]);
      return [tf.stack(dx), tf.matMul(xh, dRu, true, false), tf.matMul(xhr, dC, true, false), dRu.sum(0), dC.sum(0)];
    },
  };
});

/** Mean sparse softmax cross-entropy with TensorFlow's fused kernel (it returns the gradient too). */
const SCE_ATTRS = [createTensorsTypeOpAttr('T', 'float32'), createTensorsTypeOpAttr('Tlabels', 'int32')];
const sparseCrossEntropy = (labels) =>
  tf.customGrad((logits, save) => {
    const [perRow, backprop] = backend.executeMultipleOutputs('SparseSoftmaxCrossEntropyWithLogits', SCE_ATTRS, [logits, labels], 2);
    save([backprop]);
    return { value: perRow.mean(), gradFunc: (dy, [g]) => g.mul(dy.div(logits.shape[0])) };
  });

function loss(xb, yb) {
  // Time-major input: gather the transposed index matrix.
  const x = tf.gather(emb, xb.transpose()); // [T, B, E]
  const h = gru(x, wRu, wC, bRu, bC);
  return sparseCrossEntropy(yb)(tf.matMul(h, K).add(kb));
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
    const l = optimizer.minimize(() => loss(xt, yt), true);
    const next = tf.tidy(() => sum.add(l.mul(rows)));
    sum.dispose();
    sum = next;
    tf.dispose([xt, yt, l]);
  }
  losses.push((await sum.data())[0] / n);
  sum.dispose();
  epochSeconds.push((performance.now() - start) / 1000);
}
const seconds = (performance.now() - t0) / 1000;
const steady = epochSeconds.length > 1 ? epochSeconds.at(-1) : seconds;
console.log(
  JSON.stringify({
    bench: 'train',
    backend: 'tfjs-node-fused',
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
