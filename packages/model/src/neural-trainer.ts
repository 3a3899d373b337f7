import * as tf from '@tensorflow/tfjs';
import { SkiffError, type TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { hasSavedModel, loadNeuralParts, type Gru4RecConfig } from './neural-artifact.js';
import { Gru4RecModel, type TrainingSummary } from './neural-model.js';
import {
  ENCODERS,
  initWeights,
  neuralKind,
  pad,
  repeatScores,
  resolveGru4RecParams,
  shapeMismatch,
  weightList,
  weightShapes,
  type Weights,
} from './neural-weights.js';
import { FlatAdam } from './flat-adam.js';
import { storedCell } from './gru-encoder.js';
import { mulberry32, shuffleInPlace } from './random.js';
import { sparseSoftmaxCrossEntropy } from './tf-fused.js';
import { itemCounts, Vocabulary } from './vocabulary.js';

/** The training loop of the neural models (GRU4Rec and SASRec): examples, negatives, loss, early stopping, checkpoints. */

/** How many popular items the artifact keeps for sessions without a known item. */
const POPULAR_KEPT = 1000;

/**
 * Fills `out` (row-major [rows, cols]) with indices into the flattened repeat scores [rows, R + 1]:
 * row b, column c gets b·(R + 1) + r where r (1 … R) is how many steps back the item `colOf`
 * maps to column c last occurred in seqs[b], else b·(R + 1). `colOf` returns −1 for items that
 * have no column.
 */
function recencyIndex(
  out: Int32Array,
  seqs: ReadonlyArray<ArrayLike<number>>,
  cols: number,
  window: number,
  colOf: (item: number) => number,
): void {
  const stride = window + 1;
  for (let b = 0; b < seqs.length; b++) {
    const s = seqs[b]!;
    const row = b * cols;
    out.fill(b * stride, row, row + cols);
    for (let r = 1; r <= window && r <= s.length; r++) {
      const c = colOf(s[s.length - r]!);
      if (c >= 0 && out[row + c] === b * stride) out[row + c] = b * stride + r;
    }
  }
}

export interface TrainGru4RecOptions {
  train: readonly (readonly string[])[];
  params: TrainParams;
  /** 0-based epoch to start at (resume after epoch e with initialEpoch = e + 1). */
  initialEpoch?: number;
  /** Artifact (or checkpoint) whose weights training starts from; its vocabulary must match. */
  initialWeightsDir?: string;
  /** If set, the model is saved here after every epoch (a checkpoint to resume from). */
  checkpointDir?: string;
  /** Extra uniformly sampled negatives per batch, on top of the in-batch ones (default: params.negatives, else 64). */
  sampledNegatives?: number;
  /**
   * Validation score of the current weights, higher is better (e.g. HR@20 + MRR@20 on a
   * validation split — never the test split). Called after every epoch, before the checkpoint and
   * `onEpochEnd`. With `params.patience` > 0 this is early stopping: training ends once `patience`
   * epochs in a row did not beat the best score, and the best epoch's weights are restored (also
   * when all epochs ran). `model` scores with the current weights; do not dispose it.
   */
  validate?: (model: Gru4RecModel, epoch: number) => number | Promise<number>;
  /** With `validate` and patience: the best weights so far are saved here on every improvement (resume). */
  bestCheckpointDir?: string;
  /** Early-stopping state of the interrupted run being resumed; its best weights are read from `bestCheckpointDir`. */
  resumeEarlyStopping?: { bestEpoch: number; bestScore: number };
  /**
   * `epoch` is the 0-based index of the epoch that just finished; `model` scores with the current
   * weights (for validation); do not dispose it. `score` is validate's result; `bestEpoch` /
   * `bestScore` the early-stopping state after this epoch; `stop` is true when early stopping
   * ends training after this epoch.
   */
  onEpochEnd?: (e: {
    epoch: number;
    loss: number;
    samplesPerSecond: number;
    model: Gru4RecModel;
    score?: number;
    bestEpoch?: number;
    bestScore?: number;
    stop?: boolean;
  }) => void | Promise<void>;
  /** `epoch` is the 0-based index of the running epoch, `batch` the 0-based batch just done. */
  onBatchEnd?: (b: { epoch: number; batch: number; batches: number; loss: number }) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Training examples: every (last ≤ maxLen items of a prefix → next item) pair, stored flat. */
export function prefixExamples(
  sessions: readonly (readonly number[])[],
  maxLen: number,
): { flat: Int32Array; start: Int32Array; length: Int32Array; target: Int32Array } {
  let n = 0;
  let total = 0;
  for (const s of sessions) {
    n += Math.max(0, s.length - 1);
    total += s.length;
  }
  const flat = new Int32Array(total);
  const start = new Int32Array(n);
  const length = new Int32Array(n);
  const target = new Int32Array(n);
  let off = 0;
  let e = 0;
  for (const s of sessions) {
    flat.set(s, off);
    for (let i = 1; i < s.length; i++, e++) {
      const from = Math.max(0, i - maxLen);
      start[e] = off + from;
      length[e] = i - from;
      target[e] = s[i]!;
    }
    off += s.length;
  }
  return { flat, start, length, target };
}

function cancelled(): SkiffError {
  return new SkiffError('TRAINING_FAILED', 'training cancelled', { retryable: false });
}

/**
 * Trains the GRU4Rec-style model on `train` (each session an ordered list of item ids). Seeded
 * (initialisers, shuffling, negative sampling, dropout). Yields to the event loop after every
 * batch and awaits the callbacks, so heartbeats and cancellation (`signal`) get through.
 */
export async function trainGru4Rec(options: TrainGru4RecOptions): Promise<Gru4RecModel> {
  const {
    train,
    initialEpoch = 0,
    initialWeightsDir,
    checkpointDir,
    onEpochEnd,
    onBatchEnd,
    validate,
    bestCheckpointDir,
    resumeEarlyStopping,
    signal,
  } = options;
  const kind = neuralKind(options.params);
  // A GRU4Rec artifact records its cell, so that a later default cannot change how it is read.
  const params: TrainParams =
    kind === 'gru4rec' ? { ...options.params, cell: storedCell(options.params) } : options.params;
  const rp = resolveGru4RecParams(params);
  const sampledNegatives = options.sampledNegatives ?? rp.negatives;
  const R = rp.repeatWindow;
  const encoder = ENCODERS[kind];
  encoder.check(params);
  const { backend } = await initBackend();
  const started = performance.now();
  const vocab = Vocabulary.fromSessions(train);
  if (vocab.size < 2) throw new SkiffError('BAD_INPUT', 'training data has fewer than two distinct items');
  const counts = itemCounts(train);
  const popularity = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, POPULAR_KEPT);
  const config: Gru4RecConfig = { kind, params, backend, popularity };
  const names = weightShapes(kind, vocab.size, params).map(([n]) => n);

  let weights: Weights;
  if (initialWeightsDir) {
    const loaded = await loadNeuralParts(initialWeightsDir, true);
    const same = loaded.vocab.size === vocab.size && loaded.vocab.items.every((it, i) => it === vocab.items[i]);
    const shapeOk =
      (loaded.config.kind ?? 'gru4rec') === kind &&
      (kind !== 'gru4rec' || storedCell(loaded.config.params) === storedCell(params)) &&
      shapeMismatch(loaded.weights, kind, vocab.size, params) === null &&
      (loaded.weights.repeatVec?.shape[0] ?? 0) === R;
    if (!same || !shapeOk) {
      tf.dispose(Object.values(loaded.weights));
      throw new SkiffError(
        'BAD_INPUT',
        `initial weights in ${initialWeightsDir} do not match this training data / params`,
        { retryable: false },
      );
    }
    weights = loaded.weights;
  } else weights = initWeights(kind, vocab.size, params);
  // Between epochs the weights still change: those models use no serving tables (copies).
  const model = (summary?: TrainingSummary) => new Gru4RecModel(vocab, weights, config, summary, summary !== undefined);

  const ex = prefixExamples(
    train.map((s) => s.map((i) => vocab.id(i))),
    params.maxLen,
  );
  const n = ex.target.length;
  const summary: TrainingSummary = { losses: [], samplesPerSecond: 0, trainSeconds: 0, examples: n };
  if (n === 0) throw new SkiffError('BAD_INPUT', 'training data has no session with two or more items');
  const B = params.batchSize;
  const batches = Math.ceil(n / B);
  const trainable = weightList(weights, names);
  const optimizer = new FlatAdam(trainable, params.learningRate);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const V = vocab.size;
  const cand = new Map<number, number>();
  const fullSoftmax = sampledNegatives >= V;
  let recIdx = new Int32Array(0);

  // Early stopping: best score / epoch and a copy of the best weights (in memory).
  const early = validate !== undefined && rp.patience > 0;
  let best: { epoch: number; score: number; weights?: tf.Tensor[] } | undefined;
  if (early && resumeEarlyStopping && bestCheckpointDir && (await hasSavedModel(bestCheckpointDir))) {
    const saved = await loadNeuralParts(bestCheckpointDir, false);
    best = {
      epoch: resumeEarlyStopping.bestEpoch,
      score: resumeEarlyStopping.bestScore,
      weights: weightList(saved.weights, names),
    };
  }
  const disposeBest = () => best?.weights && tf.dispose(best.weights);

  try {
    for (let epoch = initialEpoch; epoch < params.epochs; epoch++) {
      const rnd = mulberry32(params.seed * 1009 + epoch * 7919 + 1);
      order.forEach((_, i) => (order[i] = i));
      shuffleInPlace(order, rnd);
      const t0 = performance.now();
      let lossSum = 0;
      for (let bi = 0; bi < batches; bi++) {
        if (signal?.aborted) throw cancelled();
        const rows = order.subarray(bi * B, Math.min(n, (bi + 1) * B));
        const size = rows.length;
        let len = 1;
        for (const r of rows) len = Math.max(len, ex.length[r]!);
        const seqs = Array.from(rows, (r) => ex.flat.subarray(ex.start[r]!, ex.start[r]! + ex.length[r]!));
        const { ids, mask } = pad(seqs, len);
        // Candidates: the distinct targets of the batch, with the repeat term also the batch's
        // input items (so that repeating is trained against not repeating), plus uniformly
        // sampled extra items. With at least as many negatives as items, every item is a
        // candidate: the full softmax, columns in vocabulary order (item id − 1), nothing sampled.
        const labels = new Int32Array(size);
        let candIds: Int32Array | undefined;
        let C = V;
        if (fullSoftmax) rows.forEach((r, j) => (labels[j] = ex.target[r]! - 1));
        else {
          cand.clear();
          rows.forEach((r, j) => {
            const t = ex.target[r]!;
            if (!cand.has(t)) cand.set(t, cand.size);
            labels[j] = cand.get(t)!;
          });
          if (R > 0)
            for (const s of seqs)
              for (let j = Math.max(0, s.length - R); j < s.length; j++)
                if (!cand.has(s[j]!)) cand.set(s[j]!, cand.size);
          for (let s = 0; s < sampledNegatives && cand.size < V; s++) {
            const t = 1 + Math.floor(rnd() * V);
            if (!cand.has(t)) cand.set(t, cand.size);
          }
          candIds = Int32Array.from(cand.keys());
          C = candIds.length;
        }
        if (R > 0) {
          if (recIdx.length < size * C) recIdx = new Int32Array(size * C);
          recencyIndex(recIdx, seqs, C, R, fullSoftmax ? (item) => item - 1 : (item) => cand.get(item) ?? -1);
        }
        const dropout =
          rp.dropout > 0 ? { rate: rp.dropout, seed: params.seed * 100_003 + epoch * 10_007 + bi * 2 } : undefined;
        const loss = tf.tidy(() => {
          const idsT = tf.tensor2d(ids, [size, len], 'int32');
          const maskT = tf.tensor2d(mask, [size, len]);
          const candT = candIds ? tf.tensor1d(candIds, 'int32') : undefined;
          const recT = R > 0 ? tf.tensor2d(recIdx.subarray(0, size * C), [size, C], 'int32') : undefined;
          const labelsT = tf.tensor1d(labels, 'int32');
          return optimizer.minimize(() => {
            const h = encoder.finalState(weights, idsT, maskT, params, dropout);
            // Row 0 of the output tables is padding, never a candidate.
            const outEmb = candT ? tf.gather(weights.outEmb, candT) : tf.slice(weights.outEmb, [1, 0], [V, -1]);
            const outBias = candT ? tf.gather(weights.outBias, candT) : tf.slice(weights.outBias, [1], [V]);
            let logits: tf.Tensor2D = tf.add(tf.matMul(h, outEmb, false, true), outBias);
            if (recT) logits = tf.add(logits, tf.gather(tf.reshape(repeatScores(weights, h), [-1]), recT));
            return sparseSoftmaxCrossEntropy(logits, labelsT);
          });
        });
        const lv = (await loss.data())[0]!;
        loss.dispose();
        if (!Number.isFinite(lv))
          throw new SkiffError('TRAINING_FAILED', `loss became ${lv} in epoch ${epoch}, batch ${bi}`, {
            retryable: false,
          });
        lossSum += lv;
        await onBatchEnd?.({ epoch, batch: bi, batches, loss: lv });
        // Yield to the event loop so heartbeats and cancellation get through.
        await new Promise<void>((r) => setImmediate(r));
      }
      summary.samplesPerSecond = n / ((performance.now() - t0) / 1000);
      const mean = lossSum / batches;
      summary.losses.push(mean);
      let score: number | undefined;
      let stop = false;
      if (validate) {
        score = await validate(model(), epoch);
        (summary.validationScores ??= []).push(score);
        if (early) {
          if (!best || score > best.score) {
            disposeBest();
            best = { epoch, score, weights: trainable.map((v) => tf.clone(v)) };
            if (bestCheckpointDir) await model().save(bestCheckpointDir);
          } else if (epoch - best.epoch >= rp.patience) stop = true;
        }
      }
      if (checkpointDir) await model().save(checkpointDir);
      await onEpochEnd?.({
        epoch,
        loss: mean,
        samplesPerSecond: summary.samplesPerSecond,
        model: model(),
        ...(score !== undefined ? { score } : {}),
        ...(best ? { bestEpoch: best.epoch, bestScore: best.score } : {}),
        stop,
      });
      if (stop) {
        summary.stoppedEarly = true;
        break;
      }
    }
    if (early && best?.weights) {
      // Keep the best epoch's weights (a no-op copy when the last epoch was the best).
      trainable.forEach((v, i) => v.assign(best!.weights![i]!));
      summary.bestEpoch = best.epoch;
      summary.bestScore = best.score;
    }
  } catch (e) {
    tf.dispose(trainable);
    throw e;
  } finally {
    disposeBest();
    optimizer.dispose();
  }
  summary.trainSeconds = (performance.now() - started) / 1000;
  return model(summary);
}
