// The bench/train model on tfjs-node with TensorFlow's fused GRU cell kernels (`GRUBlockCell` and
// `GRUBlockCellGrad`, the reset-before GRU that Keras' reset_after=False computes), called through
// the tfjs-node backend and wrapped in tf.customGrad over the whole sequence. Same architecture,
// sizes, optimizer, loss, batch and data as tfjs_gru.mjs / tfjs_gru_ops.mjs / keras_gru.py.
// One kernel call per time step forward and one backward (instead of ~12 and ~30); the weight
// gradients of every step are one matMul each; the loss is TensorFlow's fused
// SparseSoftmaxCrossEntropyWithLogits (which also returns its gradient). tfjs-node only.
// Prints one JSON line. usage: node bench/train/tfjs_gru_block.mjs <data.json> [epochs]
import {
  EMBED,
  UNITS,
  importSkiff,
  kerasInitialWeights,
  readBenchData,
  report,
  setupTf,
  trainLoop,
} from './shared.mjs';

const [dataFile, epochsArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 2);
const { tf, rootRequire } = await setupTf('tensorflow');
const { createTensorsTypeOpAttr } = rootRequire(
  rootRequire.resolve('@tensorflow/tfjs-node/dist/nodejs_kernel_backend.js'),
);
const { mulberry32 } = await importSkiff('core');
const backend = tf.backend();
const F32 = [createTensorsTypeOpAttr('T', 'float32')];
/** outputs r, u, c, h */
const cell = (x, h, wru, wc, bru, bc) =>
  backend.executeMultipleOutputs('GRUBlockCell', F32, [x, h, wru, wc, bru, bc], 4);
/** outputs d_x, d_h_prev, d_c_bar, d_r_bar_u_bar */
const cellGrad = (x, h, wru, wc, bru, bc, r, u, c, dh) =>
  backend.executeMultipleOutputs('GRUBlockCellGrad', F32, [x, h, wru, wc, bru, bc, r, u, c, dh], 4);

const data = readBenchData(dataFile);
const { items, T } = data;
// Keras' initial weights (see shared.mjs), as the fused cell wants them: rows [input kernel; recurrent kernel].
const init = kerasInitialWeights(tf, items);
const emb = tf.variable(init.emb);
const [kRu, kC] = tf.split(init.kernel, [2 * UNITS, UNITS], 1);
const [rRu, rC] = tf.split(init.recurrent, [2 * UNITS, UNITS], 1);
const wRu = tf.variable(tf.concat([kRu, rRu], 0));
const wC = tf.variable(tf.concat([kC, rC], 0));
const bRu = tf.variable(tf.zeros([2 * UNITS]));
const bC = tf.variable(tf.zeros([UNITS]));
const K = tf.variable(init.dense);
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
    const [perRow, backprop] = backend.executeMultipleOutputs(
      'SparseSoftmaxCrossEntropyWithLogits',
      SCE_ATTRS,
      [logits, labels],
      2,
    );
    save([backprop]);
    return { value: perRow.mean(), gradFunc: (dy, [g]) => g.mul(dy.div(logits.shape[0])) };
  });

function loss(xb, yb) {
  // Time-major input: gather the transposed index matrix.
  const x = tf.gather(emb, xb.transpose()); // [T, B, E]
  const h = gru(x, wRu, wC, bRu, bC);
  return sparseCrossEntropy(yb)(tf.matMul(h, K).add(kb));
}

const t0 = performance.now();
const timing = await trainLoop({ tf, rng: mulberry32(5), data, epochs, optimizer, loss });
report({
  backend: 'tfjs-node-fused',
  n: data.n,
  epochs,
  seconds: (performance.now() - t0) / 1000,
  ...timing,
  extra: { tfBackend: tf.getBackend(), tensorsLeft: tf.memory().numTensors },
});
