import * as tf from '@tensorflow/tfjs';
import type { NeuralKind, TrainParams } from '@skiff/core';
import type { SequenceEncoder } from './encoder.js';
import { gruEncoder } from './gru-encoder.js';
import { sasrecEncoder } from './sasrec-encoder.js';

/**
 * The weights of the neural models (GRU4Rec and SASRec): shapes, seeded initialisation, the
 * repeat/recency scoring term both kinds share, and left-padding of id sequences.
 */

export const ENCODERS: Record<NeuralKind, SequenceEncoder> = { gru4rec: gruEncoder, sasrec: sasrecEncoder };
/** The weights every kind has, plus the encoder's own (by name; see `weightShapes`). */
export type Weights = {
  itemEmb: tf.Variable;
  outEmb: tf.Variable;
  outBias: tf.Variable;
  repeatVec?: tf.Variable;
  repeatBias?: tf.Variable;
} & Record<string, tf.Variable>;

/** The kind a params object trains: 'sasrec' or (anything else, including baselines' absence) GRU4Rec. */
export function neuralKind(p: TrainParams): NeuralKind {
  return p.model === 'sasrec' ? 'sasrec' : 'gru4rec';
}

/**
 * Every weight of a model, in save order, with its shape: item embeddings, the encoder's own
 * weights, output embeddings and bias, then the repeat term's (only when repeatWindow > 0). For
 * GRU4Rec this is itemEmb, W, U, b, outEmb, outBias — the order of artifacts from before encoders.
 */
export function weightShapes(kind: NeuralKind, items: number, p: TrainParams): Array<[string, number[]]> {
  const enc = ENCODERS[kind];
  const h = enc.stateDim(p);
  const r = resolveGru4RecParams(p).repeatWindow;
  return [
    ['itemEmb', [items + 1, p.embeddingDim]],
    ...enc.shapes(p),
    ['outEmb', [items + 1, h]],
    ['outBias', [items + 1]],
    ...(r > 0
      ? ([
          ['repeatVec', [r, h]],
          ['repeatBias', [r]],
        ] as Array<[string, number[]]>)
      : []),
  ];
}

/** The GRU4Rec options that TrainParams leaves optional, with their defaults filled in. */
export interface Gru4RecOptions {
  negatives: number;
  repeatWindow: number;
  dropout: number;
  patience: number;
}

/**
 * TrainParams with the optional GRU4Rec options defaulted: 64 sampled negatives, no repeat term,
 * no dropout, no early stopping — the plain GRU4Rec, so that artifacts and configs that do not
 * name these options train, load and serve it.
 */
export function resolveGru4RecParams(p: TrainParams): TrainParams & Gru4RecOptions {
  return {
    ...p,
    negatives: p.negatives ?? 64,
    repeatWindow: p.repeatWindow ?? 0,
    dropout: p.dropout ?? 0,
    patience: p.patience ?? 0,
  };
}

/** The model's weights in save order (`names` comes from `weightShapes`). */
export function weightList(w: Weights, names: readonly string[]): tf.Variable[] {
  return names.map((n) => w[n]!);
}

let variableCounter = 0;
export function variable(name: string, t: tf.Tensor, trainable: boolean): tf.Variable {
  return tf.variable(t, trainable, `neural_${++variableCounter}/${name}`);
}

/** Seeded initial weights of a model of `kind` over `items` items (exported for tests of serving). */
export function initWeights(kind: NeuralKind, items: number, p: TrainParams): Weights {
  const { embeddingDim: d, seed } = p;
  const h = ENCODERS[kind].stateDim(p);
  const r = resolveGru4RecParams(p).repeatWindow;
  return tf.tidy(() => {
    const values: Record<string, tf.Tensor> = {
      itemEmb: tf.randomNormal([items + 1, d], 0, 0.1, 'float32', seed),
      ...ENCODERS[kind].init(p),
      outEmb: tf.randomNormal([items + 1, h], 0, 0.1, 'float32', seed + 3),
      outBias: tf.zeros([items + 1]),
      ...(r > 0 ? { repeatVec: tf.randomNormal([r, h], 0, 0.01, 'float32', seed + 4), repeatBias: tf.zeros([r]) } : {}),
    };
    return Object.fromEntries(Object.entries(values).map(([n, t]) => [n, variable(n, t, true)])) as Weights;
  });
}

/** The first weight whose shape differs from what `kind` and `params` need, or null. */
export function shapeMismatch(
  w: Readonly<Record<string, tf.Tensor | undefined>>,
  kind: NeuralKind,
  items: number,
  p: TrainParams,
): string | null {
  for (const [name, shape] of weightShapes(kind, items, p)) {
    const t = w[name];
    if (!t) return `weight ${name} missing`;
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i]))
      return `weight ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`;
  }
  return null;
}

/**
 * Repeat scores [B, R + 1] for session states h [B, H]: column 0 (item not among the last R
 * positions) is 0, column r is h · repeatVec[r] + repeatBias[r].
 */
export function repeatScores(w: Weights, h: tf.Tensor2D): tf.Tensor2D {
  const rep = tf.add(tf.matMul(h, w.repeatVec!, false, true), w.repeatBias!);
  return tf.concat([tf.zeros([h.shape[0], 1]), rep], 1) as tf.Tensor2D;
}

/** Left-pads id sequences to `len`. */
export function pad(seqs: ReadonlyArray<ArrayLike<number>>, len: number): { ids: Int32Array; mask: Float32Array } {
  const ids = new Int32Array(seqs.length * len);
  const mask = new Float32Array(seqs.length * len);
  seqs.forEach((s, b) => {
    const off = b * len + len - s.length;
    for (let j = 0; j < s.length; j++) {
      ids[off + j] = s[j]!;
      mask[off + j] = 1;
    }
  });
  return { ids, mask };
}
