import * as tf from '@tensorflow/tfjs';
import type { TrainParams } from '@skiff/core';
import type { DropoutSpec, SequenceEncoder } from './encoder.js';
import { fusedKernels, type FusedKernels } from './tf-fused.js';

/**
 * The GRU cell of a GRU4Rec model (`params.cell`). Both compute z, r = σ(x·W + h·U + b) and
 * h' = (1 − z) ⊙ n + z ⊙ h; they differ in where the reset gate goes:
 * - `reset-after`: n = tanh(x·W_n + b_n + r ⊙ (h·U_n)) (Keras' reset_after=True; every artifact
 *   saved before the cell was recorded has it);
 * - `reset-before`: n = tanh(x·W_n + b_n + (r ⊙ h)·U_n) (Keras' reset_after=False, the original
 *   GRU and GRU4Rec's), which TensorFlow has as a fused kernel (GRUBlockCell): on tfjs-node it
 *   trains and answers through it, elsewhere (WASM) through tfjs ops.
 */
export type GruCell = 'reset-after' | 'reset-before';

/**
 * The cell params name; absent = reset-after, for training too, so that params that name no cell
 * (a registered version's manifest from before the cell was recorded) retrain the same model. Of
 * the shipped configurations, `gru4rec.json` names reset-before; those that name no cell
 * (`demo.json`, `gru4rec-yoochoose.v1.json`, bench/tune-yoochoose.mjs's search) train reset-after.
 */
export function storedCell(p: TrainParams): GruCell {
  return p.cell ?? 'reset-after';
}

/** Per-step masks [B, 1] of `mask` [B, L], or null for a step without padding (nothing to mask). */
function stepMasks(mask: tf.Tensor2D): Array<tf.Tensor | null> {
  const [batch, steps] = mask.shape;
  const m = mask.dataSync();
  const out: Array<tf.Tensor | null> = [];
  for (let t = 0; t < steps; t++) {
    let full = true;
    for (let b = 0; b < batch && full; b++) full = m[b * steps + t] === 1;
    out.push(full ? null : tf.slice(mask, [0, t], [batch, 1]));
  }
  return out;
}

/**
 * The reset-before GRU over x [B, L, E] with TensorFlow's fused cell, forward and backward (the
 * whole sequence is one tf.customGrad: one kernel call per step each way, the weight gradients
 * one matMul each over all steps). W, U, b keep the artifact's layout (gate blocks z | r | n); the
 * kernel's (rows [x; h], columns r | u with u = z) is assembled per call. Padding is on the left
 * and the state starts at 0, so a padded step keeps the state at 0: h_t = m_t ⊙ cell(x_t, h_{t-1}).
 */
function fusedGru(
  k: FusedKernels,
  x: tf.Tensor3D,
  W: tf.Tensor,
  U: tf.Tensor,
  b: tf.Tensor,
  mask: tf.Tensor2D,
  hidden: number,
): tf.Tensor2D {
  const [batch, steps, inDim] = x.shape;
  const H = hidden;
  const masks = stepMasks(mask);
  const forward = (xIn: tf.Tensor, wIn: tf.Tensor, uIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [Wz, Wr, Wn] = tf.split(wIn as tf.Tensor2D, 3, 1);
    const [Uz, Ur, Un] = tf.split(uIn as tf.Tensor2D, 3, 1);
    const [bz, br, bn] = tf.split(bIn as tf.Tensor1D, 3);
    const wru = tf.concat([tf.concat([Wr!, Wz!], 1), tf.concat([Ur!, Uz!], 1)], 0);
    const wc = tf.concat([Wn!, Un!], 0);
    const bru = tf.concat([br!, bz!]);
    const bc = bn!;
    const xs = tf.unstack(xIn, 1);
    const hs: tf.Tensor[] = [tf.zeros([batch, H])];
    const rs: tf.Tensor[] = [];
    const us: tf.Tensor[] = [];
    const cs: tf.Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const [r, u, c, h] = k.gruCell(xs[t]!, hs[t]!, wru, wc, bru, bc) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      rs.push(r);
      us.push(u);
      cs.push(c);
      hs.push(masks[t] ? tf.mul(h, masks[t]!) : h);
    }
    // Everything the gradient reads must be saved: other tensors of the forward pass are freed
    // before the backward pass runs (the step masks included).
    const stepMaskList = masks.filter((m): m is tf.Tensor => m !== null);
    save([...xs, ...hs.slice(0, steps), ...rs, ...us, ...cs, wru, wc, bru, bc, ...stepMaskList]);
    return {
      value: hs[steps]! as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const at = (part: number, t: number) => saved[part * steps + t]!;
        const [wruS, wcS, bruS, bcS] = saved.slice(5 * steps) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const savedMasks = saved.slice(5 * steps + 4);
        let nextMask = 0;
        const maskOf = masks.map((m) => (m ? savedMasks[nextMask++]! : null));
        const dxs: tf.Tensor[] = new Array<tf.Tensor>(steps);
        const dcBar: tf.Tensor[] = new Array<tf.Tensor>(steps);
        const druBar: tf.Tensor[] = new Array<tf.Tensor>(steps);
        let dh = dy as tf.Tensor;
        for (let t = steps - 1; t >= 0; t--) {
          const dhCell = maskOf[t] ? tf.mul(dh, maskOf[t]!) : dh;
          [dxs[t], dh, dcBar[t], druBar[t]] = k.gruCellGrad(
            at(0, t),
            at(1, t),
            wruS,
            wcS,
            bruS,
            bcS,
            at(2, t),
            at(3, t),
            at(4, t),
            dhCell,
          ) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        }
        const n = batch * steps;
        // Gate gradients of every step, reordered to the artifact's z | r | n blocks.
        const dRu = tf.reshape(tf.stack(druBar), [n, 2 * H]);
        const [dR, dZ] = tf.split(dRu, 2, 1);
        const dC = tf.reshape(tf.stack(dcBar), [n, H]);
        const dGates = tf.concat([dZ!, dR!, dC], 1);
        const X = tf.reshape(tf.stack(saved.slice(0, steps)), [n, inDim]);
        const Hp = tf.reshape(tf.stack(saved.slice(steps, 2 * steps)), [n, H]);
        const Rs = tf.reshape(tf.stack(saved.slice(2 * steps, 3 * steps)), [n, H]);
        const dW = tf.matMul(X, dGates, true, false);
        const dU = tf.concat(
          [tf.matMul(Hp, tf.concat([dZ!, dR!], 1), true, false), tf.matMul(tf.mul(Hp, Rs), dC, true, false)],
          1,
        );
        return [tf.stack(dxs, 1), dW, dU, tf.sum(dGates, 0)];
      },
    };
  };
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x, W, U, b) as tf.Tensor2D;
}

/**
 * The final state of a GRU layer over x [B, L, E] (mask [B, L], 0 on left padding): the fused
 * kernels when given (and the cell is reset-before), else tfjs ops (exported to test one against the other).
 */
export function gruLayer(
  x: tf.Tensor3D,
  w: Readonly<Record<string, tf.Tensor>>,
  mask: tf.Tensor2D,
  hidden: number,
  cell: GruCell,
  kernels: FusedKernels | null,
): tf.Tensor2D {
  const [batch, steps] = x.shape;
  if (kernels && cell === 'reset-before') return fusedGru(kernels, x, w.W!, w.U!, w.b!, mask, hidden);
  const gx = tf.add(tf.matMul(tf.reshape(x, [batch * steps, -1]), w.W!), w.b!).reshape([batch, steps, 3 * hidden]);
  // unstack's gradient is stack, which tfjs hands a bare tensor (not a list) when there is only
  // one step — a batch whose prefixes all have one item (an epoch's last, partial batch can be
  // one) — and fails; one step needs no unstack.
  const gxs = steps === 1 ? [tf.reshape(gx, [batch, 3 * hidden])] : (tf.unstack(gx, 1) as tf.Tensor2D[]);
  const ms = steps === 1 ? [tf.reshape(mask, [batch, 1])] : (tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[]);
  // reset-before multiplies r into h before U_n: the z | r columns and the n column of U apart.
  const [Uzr, Un] =
    cell === 'reset-before' ? (tf.split(w.U!, [2 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D]) : [];
  let h = tf.zeros([batch, hidden]) as tf.Tensor2D;
  for (let t = 0; t < steps; t++) {
    const [xz, xr, xn] = tf.split(gxs[t]!, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    let z: tf.Tensor;
    let n: tf.Tensor;
    if (cell === 'reset-before') {
      const [hz, hr] = tf.split(tf.matMul(h, Uzr!), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      n = tf.tanh(tf.add(xn, tf.matMul(tf.mul(r, h), Un!)));
    } else {
      const [hz, hr, hn] = tf.split(tf.matMul(h, w.U!), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    }
    const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
    h = tf.add(h, tf.mul(ms[t]!, tf.sub(hNew, h))) as tf.Tensor2D;
  }
  return h;
}

/**
 * GRU4Rec's encoder: item embedding → one GRU layer (cell: `params.cell`, see GruCell) → the last
 * state. Padding steps keep the state unchanged, so left padding equals no padding.
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
    const cell = storedCell(p);
    let emb: tf.Tensor = tf.gather(w.itemEmb!, ids); // [B, L, D]
    if (dropout) emb = tf.dropout(emb, dropout.rate, undefined, dropout.seed);
    const h = gruLayer(emb as tf.Tensor3D, w, mask, hidden, cell, fusedKernels());
    return dropout ? (tf.dropout(h, dropout.rate, undefined, dropout.seed + 1) as tf.Tensor2D) : h;
  },
};
