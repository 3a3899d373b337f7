import type * as tf from '@tensorflow/tfjs';
import type { NeuralKind, TrainParams } from '@skiff/core';

/** Training-time dropout: the rate and the seed of this batch (tf.dropout is seeded per call). */
export interface DropoutSpec {
  rate: number;
  seed: number;
}

/**
 * Turns left-padded item ids into one session state per row. The weights map holds every weight
 * of the model; `itemEmb` ([items + 1, embeddingDim], row 0 = padding) is shared by all encoders
 * and created by the model, the rest are the encoder's own (`shapes`/`init`).
 */
export interface SequenceEncoder {
  readonly kind: NeuralKind;
  /** Throws a SkiffError('BAD_INPUT') for parameters the encoder cannot build. */
  check(p: TrainParams): void;
  /** Width of the session state (and so of the output item embeddings). */
  stateDim(p: TrainParams): number;
  /** Shapes of the encoder's own weights, in the order they are saved. */
  shapes(p: TrainParams): Array<[name: string, shape: number[]]>;
  /** Seeded initial values of the encoder's own weights (called inside tf.tidy). */
  init(p: TrainParams): Record<string, tf.Tensor>;
  /** Session states [B, stateDim] for ids/mask [B, L] (mask 0 on left padding). */
  finalState(
    w: Readonly<Record<string, tf.Tensor>>,
    ids: tf.Tensor2D,
    mask: tf.Tensor2D,
    p: TrainParams,
    dropout?: DropoutSpec,
  ): tf.Tensor2D;
}
