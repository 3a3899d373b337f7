import * as tf from '@tensorflow/tfjs';
import { SkiffError, type TrainParams } from '@skiff/core';
import type { DropoutSpec, SequenceEncoder } from './encoder.js';

/**
 * SASRec-style encoder (Kang & McAuley 2018): item embedding + learned position embedding →
 * `blocks` pre-LayerNorm Transformer blocks of causal multi-head self-attention and a ReLU
 * feed-forward layer, each with a residual connection → LayerNorm of the last position's output.
 *
 * Width d = `embeddingDim`; feed-forward inner size = `hiddenUnits`; `blocks` (default 2);
 * `heads` (default 1, must divide d). Sequences are left-padded, and positions are counted from
 * the end of the `maxLen` window, so the latest item always has the same position embedding
 * whatever the prefix length. Attention is causal (a position sees itself and earlier ones) and
 * never looks at padding. Only the last position's output is used, so the last block computes the
 * query, attention and feed-forward for that position alone.
 *
 * Trained like GRU4Rec (neural-trainer.ts): one example per prefix, sampled-candidate softmax — only the
 * encoder differs.
 */

export interface SasRecOptions {
  blocks: number;
  heads: number;
}

export function resolveSasRecOptions(p: TrainParams): SasRecOptions {
  return { blocks: p.blocks ?? 2, heads: p.heads ?? 1 };
}

const BLOCK_WEIGHTS = ['ln1g', 'ln1b', 'Wq', 'Wk', 'Wv', 'Wo', 'ln2g', 'ln2b', 'W1', 'b1', 'W2', 'b2'] as const;
type BlockWeight = (typeof BLOCK_WEIGHTS)[number];
const blockName = (l: number, n: BlockWeight) => `block${l}_${n}`;

function blockShapes(d: number, ffn: number): Record<BlockWeight, number[]> {
  return {
    ln1g: [d],
    ln1b: [d],
    Wq: [d, d],
    Wk: [d, d],
    Wv: [d, d],
    Wo: [d, d],
    ln2g: [d],
    ln2b: [d],
    W1: [d, ffn],
    b1: [ffn],
    W2: [ffn, d],
    b2: [d],
  };
}

/**
 * LayerNorm over the last axis: (x − mean) / √(var + 1e-6) · gain + bias. The forward ops are the
 * plain ones (artifacts answer as before); the gradient is the closed form (about a dozen ops
 * instead of the ~30 tfjs' autodiff of those ops emits — each a kernel call on tfjs-node):
 * dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / σ with dx̂ = dy · gain.
 */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const forward = (xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    // tf.moments' steps written out so that x − mean is computed once: the same values, fewer ops.
    const centred = tf.sub(xIn, tf.mean(xIn, -1, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-6));
    const normed = tf.div(centred, std);
    save([normed, std, g]);
    return {
      value: tf.add(tf.mul(normed, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, sd, gs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const rows = dy.shape.slice(0, -1).map((_, i) => i);
        const dxhat = tf.mul(dy, gs);
        const dx = tf.div(
          tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))),
          sd,
        );
        return [dx, tf.sum(tf.mul(dy, xhat), rows), tf.sum(dy, rows)];
      },
    };
  };
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x, gain, bias);
}

/** Rows [B·L, d] → [B·heads, L, d / heads] (heads = 1: a reshape only). */
function splitHeads(x: tf.Tensor, batch: number, steps: number, heads: number): tf.Tensor3D {
  const dh = x.shape[x.rank - 1]! / heads;
  if (heads === 1) return tf.reshape(x, [batch, steps, dh]);
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, steps, heads, dh]), [0, 2, 1, 3]), [batch * heads, steps, dh]);
}

/**
 * Additive attention masks from the padding mask (0 where a query may look at a key, −1e9 where
 * not: a later position or padding), built in JS: [B, 1, L] for the last position's query and
 * [B, L, L] for every position (causal) — with a heads axis of 1 after B when heads > 1. A padded
 * query row is masked everywhere, which softmax turns into a uniform row, not NaN; its output is
 * zeroed by the padding mask anyway.
 */
function attentionMasks(
  mask: tf.Tensor2D,
  heads: number,
  withFull: boolean,
): { last: tf.Tensor; full: tf.Tensor | undefined } {
  const [batch, steps] = mask.shape;
  const m = mask.dataSync();
  const last = new Float32Array(batch * steps);
  for (let i = 0; i < last.length; i++) last[i] = (1 - m[i]!) * -1e9;
  const h = heads > 1 ? [1] : [];
  let full: tf.Tensor | undefined;
  if (withFull) {
    const f = new Float32Array(batch * steps * steps);
    for (let b = 0; b < batch; b++)
      for (let q = 0; q < steps; q++)
        for (let k = 0; k < steps; k++) f[(b * steps + q) * steps + k] = (1 - (k <= q ? m[b * steps + k]! : 0)) * -1e9;
    full = tf.tensor(f, [batch, ...h, steps, steps]);
  }
  return { last: tf.tensor(last, [batch, ...h, 1, steps]), full };
}

export const sasrecEncoder: SequenceEncoder = {
  kind: 'sasrec',
  check(p) {
    const { blocks, heads } = resolveSasRecOptions(p);
    if (p.embeddingDim % heads !== 0)
      throw new SkiffError('BAD_INPUT', `sasrec: heads (${heads}) must divide embeddingDim (${p.embeddingDim})`, {
        retryable: false,
      });
    if (blocks < 1) throw new SkiffError('BAD_INPUT', 'sasrec: blocks must be at least 1', { retryable: false });
  },
  stateDim: (p) => p.embeddingDim,
  shapes(p) {
    const { blocks } = resolveSasRecOptions(p);
    const s = blockShapes(p.embeddingDim, p.hiddenUnits);
    const out: Array<[string, number[]]> = [['posEmb', [p.maxLen, p.embeddingDim]]];
    for (let l = 0; l < blocks; l++) for (const n of BLOCK_WEIGHTS) out.push([blockName(l, n), s[n]]);
    out.push(['lnFg', [p.embeddingDim]], ['lnFb', [p.embeddingDim]]);
    return out;
  },
  init(p) {
    const out: Record<string, tf.Tensor> = {};
    let k = 0;
    for (const [name, shape] of this.shapes(p)) {
      const seed = p.seed + 10 + k++;
      const base = name.replace(/^block\d+_/, '');
      if (name === 'posEmb') out[name] = tf.randomNormal(shape, 0, 0.1, 'float32', seed);
      else if (/^(ln\dg|lnFg)$/.test(base)) out[name] = tf.ones(shape);
      else if (shape.length === 1) out[name] = tf.zeros(shape);
      else {
        // Glorot uniform, like Keras' Dense default.
        const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
        out[name] = tf.randomUniform(shape, -limit, limit, 'float32', seed);
      }
    }
    return out;
  },
  finalState(w, ids, mask, p, dropout?: DropoutSpec) {
    const { blocks, heads } = resolveSasRecOptions(p);
    const [batch, steps] = ids.shape;
    const d = p.embeddingDim;
    const drop = (x: tf.Tensor, i: number) => (dropout ? tf.dropout(x, dropout.rate, undefined, dropout.seed + i) : x);
    // Activations are kept as rows [B·L, d], so every dense layer is one matMul (no reshapes).
    const keep = tf.reshape(mask, [batch * steps, 1]);
    // Positions are counted back from the end of the maxLen window (steps ≤ maxLen).
    const pos = tf.slice(w.posEmb!, [p.maxLen - steps, 0], [steps, d]);
    let x: tf.Tensor = tf.mul(tf.reshape(drop(tf.add(tf.gather(w.itemEmb!, ids), pos), 0), [batch * steps, d]), keep);
    // The causal [L, L] mask is only needed by blocks before the last (none with blocks = 1).
    const masks = attentionMasks(mask, heads, blocks > 1);
    // Rows of the last position of every sequence.
    const lastRows = tf.tensor1d(
      Int32Array.from({ length: batch }, (_, b) => b * steps + steps - 1),
      'int32',
    );
    const dh = d / heads;
    for (let l = 0; l < blocks; l++) {
      const W = (n: BlockWeight) => w[blockName(l, n)]!;
      const last = l === blocks - 1;
      const q = last ? 1 : steps;
      const y = layerNorm(x, W('ln1g'), W('ln1b'));
      const yq = last ? tf.gather(y, lastRows) : y;
      const Q = splitHeads(tf.matMul(yq as tf.Tensor2D, W('Wq') as tf.Tensor2D), batch, q, heads);
      const K = splitHeads(tf.matMul(y as tf.Tensor2D, W('Wk') as tf.Tensor2D), batch, steps, heads);
      const V = splitHeads(tf.matMul(y as tf.Tensor2D, W('Wv') as tf.Tensor2D), batch, steps, heads);
      let logits: tf.Tensor = tf.div(tf.matMul(Q, K, false, true), Math.sqrt(dh));
      if (heads > 1) logits = tf.reshape(logits, [batch, heads, q, steps]);
      logits = tf.add(logits, last ? masks.last : masks.full!);
      const att = tf.softmax(logits);
      const ctx = tf.matMul(heads > 1 ? tf.reshape(att, [batch * heads, q, steps]) : (att as tf.Tensor3D), V);
      const o =
        heads > 1
          ? tf.reshape(tf.transpose(tf.reshape(ctx, [batch, heads, q, dh]), [0, 2, 1, 3]), [batch * q, d])
          : tf.reshape(ctx, [batch * q, d]);
      const xq = last ? tf.gather(x, lastRows) : x;
      x = tf.add(xq, drop(tf.matMul(o, W('Wo') as tf.Tensor2D), 2 * l + 1));
      const ff = tf.relu(
        tf.add(tf.matMul(layerNorm(x, W('ln2g'), W('ln2b')) as tf.Tensor2D, W('W1') as tf.Tensor2D), W('b1')),
      );
      const f = tf.add(tf.matMul(ff as tf.Tensor2D, W('W2') as tf.Tensor2D), W('b2'));
      x = tf.add(x, drop(f, 2 * l + 2));
      if (!last) x = tf.mul(x, keep);
    }
    return layerNorm(x, w.lnFg!, w.lnFb!) as tf.Tensor2D;
  },
};
