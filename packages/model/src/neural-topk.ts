import * as tf from '@tensorflow/tfjs';
import type { Weights } from './neural-weights.js';

/**
 * Inference helpers of the neural models (GRU4Rec and SASRec): the repeat term's cells of a
 * request, and the exact chunked top-k over the padded output table.
 */

/**
 * The sparse form of `recencyIndex` for inference: for each session b and each distinct item among
 * its last R positions (most recent occurrence, r steps back), the cell (b, item) of the logits and
 * the index b·(R + 1) + r into the flattened repeat scores. Items further back get no term (0).
 */
export function recentItems(
  seqs: ReadonlyArray<ArrayLike<number>>,
  window: number,
): { cells: Int32Array; scoreIndex: Int32Array } {
  const cells: number[] = [];
  const scoreIndex: number[] = [];
  seqs.forEach((s, b) => {
    const seen = new Set<number>();
    for (let r = 1; r <= window && r <= s.length; r++) {
      const item = s[s.length - r]!;
      if (seen.has(item)) continue;
      seen.add(item);
      cells.push(b, item);
      scoreIndex.push(b * (window + 1) + r);
    }
  });
  return { cells: Int32Array.from(cells), scoreIndex: Int32Array.from(scoreIndex) };
}

/** Columns per chunk of the chunked top-k (`chunkedTopK`): 128 measured best of 64…512 at 50k items. */
export const TOPK_CHUNK = 128;

/**
 * The output table and bias padded to whole chunks of TOPK_CHUNK columns (rows of zeros with bias
 * −3e38, never in a top-k), for `chunkedTopK`. Copies of the weights: built only for a model whose
 * weights no longer change (loaded, or training finished), never for the one validation scores
 * between epochs.
 */
export interface ServingTables {
  outEmb: tf.Tensor2D;
  outBias: tf.Tensor1D;
  chunks: number;
}

export function servingTables(w: Weights): ServingTables {
  const cols = w.outBias.shape[0]!;
  const chunks = Math.ceil(cols / TOPK_CHUNK);
  const extra = chunks * TOPK_CHUNK - cols;
  return tf.tidy(() => ({
    outEmb: (extra
      ? tf.concat([w.outEmb, tf.zeros([extra, w.outEmb.shape[1]!])], 0)
      : tf.clone(w.outEmb)) as tf.Tensor2D,
    outBias: (extra ? tf.concat([w.outBias, tf.fill([extra], -3e38)]) : tf.clone(w.outBias)) as tf.Tensor1D,
    chunks,
  }));
}

/**
 * The exact top-kq of each row of `logits` [B, chunks · TOPK_CHUNK] — the same ids in the same order
 * as tf.topk over the row, ties to the lower id — without sorting whole rows (tf.topk over 50k
 * columns was 45 % of a batch's time). The kq best items lie in the kq chunks with the highest
 * maxima: an item of a chunk left out would rank below the kq chunk maxima chosen (each at least
 * its score, and on a tie in a chunk of lower id). So: max per chunk → top kq chunks → their
 * columns, in ascending chunk order so that position order is id order → tf.topk over those.
 * Returns values and ids row-major [B, kq]. Call inside tf.tidy.
 */
export function chunkedTopK(logits: tf.Tensor2D, chunks: number, kq: number): [Float32Array, Int32Array] {
  const B = logits.shape[0];
  const C = TOPK_CHUNK;
  const kc = Math.min(kq, chunks);
  const best = tf.topk(tf.max(tf.reshape(logits, [B, chunks, C]), 2), kc).indices.dataSync() as Int32Array;
  for (let b = 0; b < B; b++) best.subarray(b * kc, (b + 1) * kc).sort();
  // Rows of the [B · chunks, C] view, gathered on axis 0 (a batched gather crashes the WASM backend).
  const rows = new Int32Array(B * kc);
  for (let b = 0; b < B; b++) for (let j = 0; j < kc; j++) rows[b * kc + j] = b * chunks + best[b * kc + j]!;
  const cand = tf.reshape(tf.gather(tf.reshape(logits, [B * chunks, C]), tf.tensor1d(rows, 'int32')), [B, kc * C]);
  const t = tf.topk(cand, kq);
  const pos = t.indices.dataSync() as Int32Array;
  const ids = new Int32Array(B * kq);
  for (let b = 0; b < B; b++)
    for (let j = 0; j < kq; j++) {
      const q = pos[b * kq + j]!;
      ids[b * kq + j] = best[b * kc + Math.floor(q / C)]! * C + (q % C);
    }
  return [t.values.dataSync() as Float32Array, ids];
}
