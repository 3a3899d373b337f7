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
 * (x − mean) / √(variance + 1e-6) · gain + bias over the last axis. The steps of tf.moments written
 * out (mean, x − mean, its square, their mean) so that x − mean is computed once: the same values
 * with fewer ops (moments also casts and reshapes).
 */
function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(variance, 1e-6))), gain), bias);
}

/**
 * [B, T, d] → [B·heads, T, d / heads]. One head is the identity (its transpose only moves an axis of
 * size 1): no ops, the same values.
 */
function splitHeads(x: tf.Tensor, batch: number, steps: number, heads: number): tf.Tensor3D {
  if (heads === 1) return x as tf.Tensor3D;
  const dh = x.shape[2]! / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, steps, heads, dh]), [0, 2, 1, 3]), [batch * heads, steps, dh]);
}

/** [B·heads, T, d / heads] → [B, T, d] (splitHeads' inverse; the identity for one head). */
function mergeHeads(x: tf.Tensor, batch: number, steps: number, heads: number): tf.Tensor {
  if (heads === 1) return x;
  const dh = x.shape[2]!;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, heads, steps, dh]), [0, 2, 1, 3]), [batch, steps, heads * dh]);
}

/** [B, T, d] · [d, e] → [B, T, e] */
function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [batch, steps, d] = x.shape as [number, number, number];
  const y = tf.matMul(tf.reshape(x, [batch * steps, d]), w as tf.Tensor2D);
  return tf.reshape(b ? tf.add(y, b) : y, [batch, steps, w.shape[1]!]);
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
    const keep = tf.expandDims(mask, 2); // [B, L, 1]
    // Positions are counted back from the end of the maxLen window (steps ≤ maxLen).
    const pos = tf.slice(w.posEmb!, [p.maxLen - steps, 0], [steps, d]);
    let x: tf.Tensor = tf.mul(drop(tf.add(tf.gather(w.itemEmb!, ids), pos), 0), keep); // [B, L, d]
    // Additive attention masks [B, 1, Lq, L]: 0 where the query may look at the key, −1e9 where
    // not (a later position or padding). A padded query row is masked everywhere, which softmax
    // turns into a uniform row, not NaN; its output is zeroed by `keep` anyway.
    const keyOk = tf.reshape(mask, [batch, 1, 1, steps]);
    const lastMask = tf.mul(tf.sub(1, keyOk), -1e9); // the last position sees every real item
    // The causal [L, L] mask is only needed by blocks before the last (none with blocks = 1).
    const fullMask =
      blocks > 1
        ? tf.mul(
            tf.sub(1, tf.mul(tf.linalg.bandPart(tf.ones([steps, steps]), -1, 0).reshape([1, 1, steps, steps]), keyOk)),
            -1e9,
          )
        : lastMask;
    const dh = d / heads;
    for (let l = 0; l < blocks; l++) {
      const W = (n: BlockWeight) => w[blockName(l, n)]!;
      const last = l === blocks - 1;
      const q = last ? 1 : steps;
      const y = layerNorm(x, W('ln1g'), W('ln1b'));
      const yq = last ? tf.slice(y, [0, steps - 1, 0], [batch, 1, d]) : y;
      const Q = splitHeads(dense(yq, W('Wq')), batch, q, heads);
      const K = splitHeads(dense(y, W('Wk')), batch, steps, heads);
      const V = splitHeads(dense(y, W('Wv')), batch, steps, heads);
      const logits = tf.add(
        tf.reshape(tf.div(tf.matMul(Q, K, false, true), Math.sqrt(dh)), [batch, heads, q, steps]),
        last ? lastMask : fullMask,
      );
      const att = tf.reshape(tf.softmax(logits), [batch * heads, q, steps]);
      const o = mergeHeads(tf.matMul(att, V), batch, q, heads);
      const xq = last ? tf.slice(x, [0, steps - 1, 0], [batch, 1, d]) : x;
      x = tf.add(xq, drop(dense(o, W('Wo')), 2 * l + 1));
      const f = dense(tf.relu(dense(layerNorm(x, W('ln2g'), W('ln2b')), W('W1'), W('b1'))), W('W2'), W('b2'));
      x = tf.add(x, drop(f, 2 * l + 2));
      if (!last) x = tf.mul(x, keep);
    }
    return layerNorm(tf.reshape(x, [batch, d]), w.lnFg!, w.lnFb!) as tf.Tensor2D;
  },
};
