import * as tf from '@tensorflow/tfjs';
import type { DropoutSpec, SequenceEncoder } from './encoder.js';

/**
 * GRU4Rec's encoder: item embedding → one GRU layer (written with tfjs ops) → the last state.
 * Cell: z, r = σ(x·W + h·U + b); n = tanh(x·W_n + b_n + r ⊙ (h·U_n)); h' = (1 − z) ⊙ n + z ⊙ h
 * (the reset gate is applied after h·U_n, like Keras' reset_after). Padding steps keep the state
 * unchanged, so left padding equals no padding.
 */
export const gruEncoder: SequenceEncoder = {
  kind: 'gru4rec',
  check() {},
  stateDim: (p) => p.hiddenUnits,
  shapes: (p) => [
    ['W', [p.embeddingDim, 3 * p.hiddenUnits]],
    ['U', [p.hiddenUnits, 3 * p.hiddenUnits]],
    ['b', [3 * p.hiddenUnits]],
  ],
  init(p) {
    const { embeddingDim: d, hiddenUnits: h, seed } = p;
    return {
      W: tf.randomUniform([d, 3 * h], -Math.sqrt(6 / (d + h)), Math.sqrt(6 / (d + h)), 'float32', seed + 1),
      U: tf.randomUniform([h, 3 * h], -Math.sqrt(3 / h), Math.sqrt(3 / h), 'float32', seed + 2),
      b: tf.zeros([3 * h]),
    };
  },
  finalState(w, ids, mask, p, dropout?: DropoutSpec) {
    const hidden = p.hiddenUnits;
    const [batch, steps] = ids.shape;
    let emb: tf.Tensor = tf.gather(w.itemEmb!, ids); // [B, L, D]
    if (dropout) emb = tf.dropout(emb, dropout.rate, undefined, dropout.seed);
    const gx = tf.add(tf.matMul(tf.reshape(emb, [batch * steps, -1]), w.W!), w.b!).reshape([batch, steps, 3 * hidden]);
    // unstack's gradient is stack, which tfjs hands a bare tensor (not a list) when there is only
    // one step — a batch whose prefixes all have one item (an epoch's last, partial batch can be
    // one) — and fails; one step needs no unstack.
    const gxs = steps === 1 ? [tf.reshape(gx, [batch, 3 * hidden])] : (tf.unstack(gx, 1) as tf.Tensor2D[]);
    const ms = steps === 1 ? [tf.reshape(mask, [batch, 1])] : (tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[]);
    let h: tf.Tensor2D = tf.zeros([batch, hidden]);
    for (let t = 0; t < steps; t++) {
      const [xz, xr, xn] = tf.split(gxs[t]!, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const [hz, hr, hn] = tf.split(tf.matMul(h, w.U!), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
      const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
      h = tf.add(h, tf.mul(ms[t]!, tf.sub(hNew, h)));
    }
    return dropout ? (tf.dropout(h, dropout.rate, undefined, dropout.seed + 1) as tf.Tensor2D) : h;
  },
};
