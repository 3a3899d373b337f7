import * as tf from '@tensorflow/tfjs';
import type { NeuralKind, Recommender, ScoredItem } from '@skiff/core';
import { initBackend } from './backend.js';
import type { SequenceEncoder } from './encoder.js';
import { loadNeuralParts, writeNeuralArtifact, type Gru4RecConfig } from './neural-artifact.js';
import { chunkedTopK, recentItems, servingTables, type ServingTables } from './neural-topk.js';
import { ENCODERS, pad, repeatScores, weightList, weightShapes, type Weights } from './neural-weights.js';
import type { Vocabulary } from './vocabulary.js';

/**
 * The neural next-item models, written with tfjs ops: item embedding → session encoder → session
 * state h; score(item) = h · outputEmbedding(item) + bias(item) [+ repeat(h, recency(item))].
 * Two encoders share everything else (training loop, loss, output layer, repeat term, artifact,
 * serving): GRU4Rec's GRU (gru-encoder.ts, kind 'gru4rec') and SASRec-style causal self-attention
 * (sasrec-encoder.ts, kind 'sasrec'); `params.model` / `config.kind` chooses. Trained on
 * (prefix → next item) pairs with in-batch negatives (the other targets of the mini-batch, plus
 * uniformly sampled extra items) and softmax cross-entropy over that candidate set — never a full
 * softmax over all items.
 *
 * Repeat/recency term (`repeatWindow` R > 0): an item that last occurred r steps back in the
 * (maxLen-truncated) prefix, 1 ≤ r ≤ R, gets `h · repeatVec[r] + repeatBias[r]` added to its
 * score; items not among the last R positions get nothing. It lets the model say "the item just
 * clicked comes again" (a quarter of the YooChoose targets), depending on the session state.
 */

export interface TrainingSummary {
  /** Mean loss of each epoch run in this call. */
  losses: number[];
  /** Training examples per second in the last epoch. */
  samplesPerSecond: number;
  trainSeconds: number;
  /** Examples (prefix → next item pairs) per epoch. */
  examples: number;
  /** `validate`'s score after each epoch run in this call (when given). */
  validationScores?: number[];
  /** Early stopping: the 0-based epoch whose weights the model holds, and its score. */
  bestEpoch?: number;
  bestScore?: number;
  /** True when early stopping ended training before `params.epochs`. */
  stoppedEarly?: boolean;
}

/** A trained or loaded neural model of either kind (the name is GRU4Rec's, the first kind). */
export class Gru4RecModel implements Recommender {
  readonly name: NeuralKind;
  readonly vocabulary: readonly string[];
  /** Recency positions of the repeat term (0: no repeat term, e.g. an artifact from before it). */
  private readonly repeatWindow: number;
  private readonly encoder: SequenceEncoder;
  /** The weights in save order. */
  private readonly weightNames: string[];
  /** Set when the weights are final (`frozen`): the padded tables of the chunked top-k. */
  private readonly serving?: ServingTables;

  constructor(
    readonly vocab: Vocabulary,
    private readonly weights: Weights,
    readonly config: Gru4RecConfig,
    /** Set on a freshly trained model (not on a loaded one). */
    readonly training?: TrainingSummary,
    /** The weights will not change any more: build the serving tables (copies) for a faster top-k. */
    frozen = false,
  ) {
    this.vocabulary = vocab.items;
    this.name = config.kind ?? 'gru4rec';
    this.encoder = ENCODERS[this.name];
    this.repeatWindow = weights.repeatVec ? weights.repeatVec.shape[0] : 0;
    this.weightNames = weightShapes(this.name, vocab.size, config.params).map(([n]) => n);
    if (frozen) this.serving = servingTables(weights);
  }

  /** Known item ids of each history (unknown items dropped), truncated to the last maxLen. */
  private encode(histories: ReadonlyArray<readonly string[]>): number[][] {
    const maxLen = this.config.params.maxLen;
    return histories.map((h) => {
      const ids: number[] = [];
      for (const i of h) {
        const id = this.vocab.id(i);
        if (id > 0) ids.push(id);
      }
      return ids.slice(-maxLen);
    });
  }

  /** Top-k item ids (1-based vocabulary ids) and scores per non-empty sequence, one forward pass. */
  private topIds(seqs: number[][], k: number): Array<{ ids: Int32Array; scores: Float32Array }> {
    const len = Math.max(1, ...seqs.map((s) => s.length));
    const V = this.vocab.size;
    const kk = Math.max(0, Math.min(k, V));
    if (kk === 0) return seqs.map(() => ({ ids: new Int32Array(0), scores: new Float32Array(0) }));
    const { ids, mask } = pad(seqs, len);
    const B = seqs.length;
    const cols = V + 1;
    // The repeat term touches at most R items per session: add it sparsely (O(R) per request, not
    // a dense [B, items] index built in JS for every request).
    const repeat = this.repeatWindow > 0 ? recentItems(seqs, this.repeatWindow) : null;
    // Scores over every row of the tables (no copy of the output table); row 0 is padding and is
    // dropped below, so ask for one more.
    const kq = Math.min(kk + 1, cols);
    const serving = this.serving;
    const [v, ix] = tf.tidy(() => {
      const h = this.encoder.finalState(
        this.weights,
        tf.tensor2d(ids, [B, len], 'int32'),
        tf.tensor2d(mask, [B, len]),
        this.config.params,
      );
      const out = serving ?? this.weights;
      let logits: tf.Tensor2D = tf.add(tf.matMul(h, out.outEmb, false, true), out.outBias);
      if (repeat && repeat.scoreIndex.length) {
        const updates = tf.gather(
          tf.reshape(repeatScores(this.weights, h), [-1]),
          tf.tensor1d(repeat.scoreIndex, 'int32'),
        );
        logits = tf.add(
          logits,
          tf.scatterND(tf.tensor2d(repeat.cells, [repeat.scoreIndex.length, 2], 'int32'), updates, logits.shape),
        );
      }
      if (serving) return chunkedTopK(logits, serving.chunks, kq);
      const t = tf.topk(logits, kq);
      return [t.values.dataSync() as Float32Array, t.indices.dataSync() as Int32Array] as const;
    });
    return seqs.map((_, b) => {
      const outIds = new Int32Array(kk);
      const outScores = new Float32Array(kk);
      for (let j = b * kq, n = 0; j < (b + 1) * kq && n < kk; j++) {
        if (ix[j] === 0) continue;
        outIds[n] = ix[j]!;
        outScores[n++] = v[j]!;
      }
      return { ids: outIds, scores: outScores };
    });
  }

  private popularList(k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const max = this.config.popularity[0]?.[1] ?? 1;
    const out: ScoredItem[] = [];
    for (const [itemId, c] of this.config.popularity) {
      if (out.length >= k) break;
      if (!exclude?.has(itemId)) out.push({ itemId, score: c / max });
    }
    return out;
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const [seq] = this.encode([history]);
    if (!seq || seq.length === 0) return this.popularList(k, exclude);
    let extra = 0;
    if (exclude) for (const i of exclude) if (this.vocab.has(i)) extra++;
    const [top] = this.topIds([seq], k + extra);
    const out: ScoredItem[] = [];
    for (let j = 0; j < top!.ids.length && out.length < k; j++) {
      const item = this.vocab.item(top!.ids[j]!);
      if (!exclude?.has(item)) out.push({ itemId: item, score: top!.scores[j]! });
    }
    return out;
  }

  /** Runs the network on up to `batchSize` histories at a time (one forward pass and top-k per chunk of the batch). */
  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number, batchSize = 512): ScoredItem[][] {
    const seqs = this.encode(histories);
    const out: ScoredItem[][] = new Array<ScoredItem[]>(histories.length);
    const known: number[] = [];
    seqs.forEach((s, i) => {
      if (s.length) known.push(i);
      else out[i] = this.popularList(k);
    });
    for (let off = 0; off < known.length; off += batchSize) {
      const idx = known.slice(off, off + batchSize);
      const tops = this.topIds(
        idx.map((i) => seqs[i]!),
        k,
      );
      idx.forEach((i, b) => {
        const t = tops[b]!;
        out[i] = Array.from(t.ids, (id, j) => ({ itemId: this.vocab.item(id), score: t.scores[j]! }));
      });
    }
    return out;
  }

  /**
   * Writes `model.json` (tfjs ModelJSON: topology description + weightsManifest), `weights.bin`,
   * `vocabulary.json` (item of index i + 1) and `config.json`; returns the file names.
   */
  save(dir: string): Promise<string[]> {
    return writeNeuralArtifact(dir, {
      kind: this.name,
      vocab: this.vocab,
      config: this.config,
      weights: this.weights,
      weightNames: this.weightNames,
      repeatWindow: this.repeatWindow,
    });
  }

  dispose(): void {
    tf.dispose(weightList(this.weights, this.weightNames));
    if (this.serving) tf.dispose([this.serving.outEmb, this.serving.outBias]);
  }
}

/** Loads an artifact written by `Gru4RecModel.save`. */
export async function loadGru4Rec(dir: string): Promise<Gru4RecModel> {
  await initBackend();
  const { vocab, weights, config } = await loadNeuralParts(dir, false);
  return new Gru4RecModel(vocab, weights, config, undefined, true);
}
