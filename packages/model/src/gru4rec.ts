import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkiffError, type Recommender, type ScoredItem, type TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import type { NeuralKind, SequenceEncoder } from './encoder.js';
import { gruEncoder } from './gru-encoder.js';
import { resolveSasRecOptions, sasrecEncoder } from './sasrec-encoder.js';
import { mulberry32, shuffleInPlace } from './random.js';
import { itemCounts, Vocabulary } from './vocabulary.js';

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

/** `model.json` format of each kind. */
const FORMATS: Record<NeuralKind, string> = { gru4rec: 'skiff-gru4rec', sasrec: 'skiff-sasrec' };
const ENCODERS: Record<NeuralKind, SequenceEncoder> = { gru4rec: gruEncoder, sasrec: sasrecEncoder };
/** The weights every kind has, plus the encoder's own (by name; see `weightShapes`). */
type Weights = { itemEmb: tf.Variable; outEmb: tf.Variable; outBias: tf.Variable; repeatVec?: tf.Variable; repeatBias?: tf.Variable } & Record<string, tf.Variable>;

/** The kind a params object trains: 'sasrec' or (anything else, including baselines' absence) GRU4Rec. */
function neuralKind(p: TrainParams): NeuralKind {
  return p.model === 'sasrec' ? 'sasrec' : 'gru4rec';
}

/**
 * Every weight of a model, in save order, with its shape: item embeddings, the encoder's own
 * weights, output embeddings and bias, then the repeat term's (only when repeatWindow > 0). For
 * GRU4Rec this is itemEmb, W, U, b, outEmb, outBias — the order of artifacts from before encoders.
 */
function weightShapes(kind: NeuralKind, items: number, p: TrainParams): Array<[string, number[]]> {
  const enc = ENCODERS[kind];
  const h = enc.stateDim(p);
  const r = resolveGru4RecParams(p).repeatWindow;
  return [
    ['itemEmb', [items + 1, p.embeddingDim]],
    ...enc.shapes(p),
    ['outEmb', [items + 1, h]],
    ['outBias', [items + 1]],
    ...(r > 0 ? ([['repeatVec', [r, h]], ['repeatBias', [r]]] as Array<[string, number[]]>) : []),
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
 * TrainParams with the later-added GRU4Rec options defaulted: 64 sampled negatives, no repeat
 * term, no dropout, no early stopping — exactly the model before those options existed (so
 * artifacts and configs without them train, load and serve as before).
 */
export function resolveGru4RecParams(p: TrainParams): TrainParams & Gru4RecOptions {
  return { ...p, negatives: p.negatives ?? 64, repeatWindow: p.repeatWindow ?? 0, dropout: p.dropout ?? 0, patience: p.patience ?? 0 };
}

/** The model's weights in save order (`names` comes from `weightShapes`). */
function weightList(w: Weights, names: readonly string[]): tf.Variable[] {
  return names.map((n) => w[n]!);
}

/** How many popular items the artifact keeps for sessions without a known item. */
const POPULAR_KEPT = 1000;

export interface Gru4RecConfig {
  /** Artifact kind (see artifact.ts); absent in configs written before kinds existed (= gru4rec). */
  kind?: NeuralKind;
  params: TrainParams;
  backend: string;
  /** [item, training count], most popular first: the answer when a session has no known item. */
  popularity: Array<[string, number]>;
}

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

let variableCounter = 0;
function variable(name: string, t: tf.Tensor, trainable: boolean): tf.Variable {
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
function shapeMismatch(w: Readonly<Record<string, tf.Tensor | undefined>>, kind: NeuralKind, items: number, p: TrainParams): string | null {
  for (const [name, shape] of weightShapes(kind, items, p)) {
    const t = w[name];
    if (!t) return `weight ${name} missing`;
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) return `weight ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`;
  }
  return null;
}

/**
 * Repeat scores [B, R + 1] for session states h [B, H]: column 0 (item not among the last R
 * positions) is 0, column r is h · repeatVec[r] + repeatBias[r].
 */
function repeatScores(w: Weights, h: tf.Tensor2D): tf.Tensor2D {
  const rep = tf.add(tf.matMul(h, w.repeatVec!, false, true), w.repeatBias!);
  return tf.concat([tf.zeros([h.shape[0], 1]), rep], 1) as tf.Tensor2D;
}

/**
 * Fills `out` (row-major [rows, cols]) with indices into the flattened repeat scores [rows, R + 1]:
 * row b, column c gets b·(R + 1) + r where r (1 … R) is how many steps back the item `colOf`
 * maps to column c last occurred in seqs[b], else b·(R + 1). `colOf` returns −1 for items that
 * have no column.
 */
/**
 * The sparse form of `recencyIndex` for inference: for each session b and each distinct item among
 * its last R positions (most recent occurrence, r steps back), the cell (b, item) of the logits and
 * the index b·(R + 1) + r into the flattened repeat scores. Items further back get no term (0).
 */
function recentItems(seqs: ReadonlyArray<ArrayLike<number>>, window: number): { cells: Int32Array; scoreIndex: Int32Array } {
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

function recencyIndex(out: Int32Array, seqs: ReadonlyArray<ArrayLike<number>>, cols: number, window: number, colOf: (item: number) => number): void {
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

/** Left-pads id sequences to `len`. */
function pad(seqs: ReadonlyArray<ArrayLike<number>>, len: number): { ids: Int32Array; mask: Float32Array } {
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

async function writeAtomic(dir: string, name: string, body: string | Uint8Array): Promise<void> {
  const tmp = path.join(dir, `.${name}.tmp`);
  await writeFile(tmp, body);
  await rename(tmp, path.join(dir, name));
}

/** Columns per chunk of the chunked top-k (`chunkedTopK`): 128 measured best of 64…512 at 50k items. */
const TOPK_CHUNK = 128;

/**
 * The output table and bias padded to whole chunks of TOPK_CHUNK columns (rows of zeros with bias
 * −3e38, never in a top-k), for `chunkedTopK`. Copies of the weights: built only for a model whose
 * weights no longer change (loaded, or training finished), never for the one validation scores
 * between epochs.
 */
interface ServingTables {
  outEmb: tf.Tensor2D;
  outBias: tf.Tensor1D;
  chunks: number;
}

function servingTables(w: Weights): ServingTables {
  const cols = w.outBias.shape[0]!;
  const chunks = Math.ceil(cols / TOPK_CHUNK);
  const extra = chunks * TOPK_CHUNK - cols;
  return tf.tidy(() => ({
    outEmb: (extra ? tf.concat([w.outEmb, tf.zeros([extra, w.outEmb.shape[1]!])], 0) : tf.clone(w.outEmb)) as tf.Tensor2D,
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
function chunkedTopK(logits: tf.Tensor2D, chunks: number, kq: number): [Float32Array, Int32Array] {
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
      const h = this.encoder.finalState(this.weights, tf.tensor2d(ids, [B, len], 'int32'), tf.tensor2d(mask, [B, len]), this.config.params);
      const out = serving ?? this.weights;
      let logits: tf.Tensor2D = tf.add(tf.matMul(h, out.outEmb, false, true), out.outBias);
      if (repeat && repeat.scoreIndex.length) {
        const updates = tf.gather(tf.reshape(repeatScores(this.weights, h), [-1]), tf.tensor1d(repeat.scoreIndex, 'int32'));
        logits = tf.add(logits, tf.scatterND(tf.tensor2d(repeat.cells, [repeat.scoreIndex.length, 2], 'int32'), updates, logits.shape));
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
      const tops = this.topIds(idx.map((i) => seqs[i]!), k);
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
  async save(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const { data, specs } = await tf.io.encodeWeights(this.weightNames.map((name) => ({ name, tensor: this.weights[name]! })));
    const p = this.config.params;
    const files = ['model.json', 'weights.bin', 'vocabulary.json', 'config.json'];
    const handler = tf.io.withSaveHandler(async (artifacts) => {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format!,
        generatedBy: artifacts.generatedBy!,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeAtomic(dir, 'weights.bin', new Uint8Array(weights));
      await writeAtomic(dir, 'vocabulary.json', JSON.stringify(this.vocab.items));
      await writeAtomic(dir, 'config.json', JSON.stringify(this.config, null, 2));
      await writeAtomic(dir, 'model.json', JSON.stringify(modelJson, null, 2));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    });
    await handler.save!({
      format: FORMATS[this.name],
      generatedBy: `@tensorflow/tfjs ${tf.version.tfjs}`,
      modelTopology: {
        type: this.name,
        items: this.vocab.size,
        embeddingDim: p.embeddingDim,
        hiddenUnits: p.hiddenUnits,
        maxLen: p.maxLen,
        ...(this.name === 'sasrec' ? resolveSasRecOptions(p) : {}),
        ...(this.repeatWindow > 0 ? { repeatWindow: this.repeatWindow } : {}),
      },
      weightSpecs: specs,
      weightData: data,
    });
    return files;
  }

  dispose(): void {
    tf.dispose(weightList(this.weights, this.weightNames));
    if (this.serving) tf.dispose([this.serving.outEmb, this.serving.outBias]);
  }
}

async function loadParts(dir: string, trainable: boolean): Promise<{ vocab: Vocabulary; weights: Weights; config: Gru4RecConfig }> {
  const read = (f: string) => readFile(path.join(dir, f));
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse((await read('model.json')).toString('utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `cannot read ${path.join(dir, 'model.json')}: ${(e as Error).message}`, { cause: e });
  }
  const kind = (Object.keys(FORMATS) as NeuralKind[]).find((k) => FORMATS[k] === modelJson.format);
  if (!kind) throw new SkiffError('ARTIFACT_CORRUPTED', `${dir} is not a skiff GRU4Rec or SASRec model (format ${String(modelJson.format)})`);
  const bin = await read('weights.bin');
  const named = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), modelJson.weightsManifest[0]?.weights ?? []);
  const weights: Record<string, tf.Variable> = {};
  try {
    const vocab = new Vocabulary(JSON.parse((await read('vocabulary.json')).toString('utf8')) as string[]);
    const config = JSON.parse((await read('config.json')).toString('utf8')) as Gru4RecConfig;
    if ((config.kind ?? 'gru4rec') !== kind) throw new SkiffError('ARTIFACT_CORRUPTED', `${dir}: config.json kind ${String(config.kind)} does not match model.json format ${String(modelJson.format)}`);
    // The repeat weights exist only in artifacts trained with repeatWindow > 0 (weightShapes asks
    // for them only then), and the vocabulary fixes the tables' row count.
    const bad = shapeMismatch(named, kind, vocab.size, config.params);
    if (bad) throw new SkiffError('ARTIFACT_CORRUPTED', `${dir}: ${bad} (weights do not match vocabulary.json / config.json)`);
    for (const [n] of weightShapes(kind, vocab.size, config.params)) weights[n] = variable(n, named[n]!, trainable);
    return { vocab, weights: weights as Weights, config };
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw e;
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** Loads an artifact written by `Gru4RecModel.save`. */
export async function loadGru4Rec(dir: string): Promise<Gru4RecModel> {
  await initBackend();
  const { vocab, weights, config } = await loadParts(dir, false);
  return new Gru4RecModel(vocab, weights, config, undefined, true);
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
  onEpochEnd?: (e: { epoch: number; loss: number; samplesPerSecond: number; model: Gru4RecModel; score?: number; bestEpoch?: number; bestScore?: number; stop?: boolean }) => void | Promise<void>;
  /** `epoch` is the 0-based index of the running epoch, `batch` the 0-based batch just done. */
  onBatchEnd?: (b: { epoch: number; batch: number; batches: number; loss: number }) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Training examples: every (last ≤ maxLen items of a prefix → next item) pair, stored flat. */
export function prefixExamples(sessions: readonly (readonly number[])[], maxLen: number): { flat: Int32Array; start: Int32Array; length: Int32Array; target: Int32Array } {
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
  const { train, initialEpoch = 0, initialWeightsDir, checkpointDir, onEpochEnd, onBatchEnd, validate, bestCheckpointDir, resumeEarlyStopping, signal } = options;
  const params = options.params;
  const rp = resolveGru4RecParams(params);
  const sampledNegatives = options.sampledNegatives ?? rp.negatives;
  const R = rp.repeatWindow;
  const kind = neuralKind(params);
  const encoder = ENCODERS[kind];
  encoder.check(params);
  const { backend } = await initBackend();
  const started = performance.now();
  const vocab = Vocabulary.fromSessions(train);
  if (vocab.size < 2) throw new SkiffError('BAD_INPUT', 'training data has fewer than two distinct items');
  const counts = itemCounts(train);
  const popularity = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, POPULAR_KEPT);
  const config: Gru4RecConfig = { kind, params, backend, popularity };
  const names = weightShapes(kind, vocab.size, params).map(([n]) => n);

  let weights: Weights;
  if (initialWeightsDir) {
    const loaded = await loadParts(initialWeightsDir, true);
    const same = loaded.vocab.size === vocab.size && loaded.vocab.items.every((it, i) => it === vocab.items[i]);
    const shapeOk = (loaded.config.kind ?? 'gru4rec') === kind && shapeMismatch(loaded.weights, kind, vocab.size, params) === null && (loaded.weights.repeatVec?.shape[0] ?? 0) === R;
    if (!same || !shapeOk) {
      tf.dispose(Object.values(loaded.weights));
      throw new SkiffError('BAD_INPUT', `initial weights in ${initialWeightsDir} do not match this training data / params`, { retryable: false });
    }
    weights = loaded.weights;
  } else weights = initWeights(kind, vocab.size, params);
  // Between epochs the weights still change: those models use no serving tables (copies).
  const model = (summary?: TrainingSummary) => new Gru4RecModel(vocab, weights, config, summary, summary !== undefined);

  const ex = prefixExamples(train.map((s) => s.map((i) => vocab.id(i))), params.maxLen);
  const n = ex.target.length;
  const summary: TrainingSummary = { losses: [], samplesPerSecond: 0, trainSeconds: 0, examples: n };
  if (n === 0) throw new SkiffError('BAD_INPUT', 'training data has no session with two or more items');
  const B = params.batchSize;
  const batches = Math.ceil(n / B);
  const optimizer = tf.train.adam(params.learningRate);
  const trainable = weightList(weights, names);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const V = vocab.size;
  const cand = new Map<number, number>();
  let recIdx = new Int32Array(0);

  // Early stopping: best score / epoch and a copy of the best weights (in memory).
  const early = validate !== undefined && rp.patience > 0;
  let best: { epoch: number; score: number; weights?: tf.Tensor[] } | undefined;
  if (early && resumeEarlyStopping && bestCheckpointDir && (await hasSavedModel(bestCheckpointDir))) {
    const saved = await loadParts(bestCheckpointDir, false);
    best = { epoch: resumeEarlyStopping.bestEpoch, score: resumeEarlyStopping.bestScore, weights: weightList(saved.weights, names) };
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
        // sampled extra items.
        cand.clear();
        const labels = new Int32Array(size);
        rows.forEach((r, j) => {
          const t = ex.target[r]!;
          if (!cand.has(t)) cand.set(t, cand.size);
          labels[j] = cand.get(t)!;
        });
        if (R > 0) for (const s of seqs) for (let j = Math.max(0, s.length - R); j < s.length; j++) if (!cand.has(s[j]!)) cand.set(s[j]!, cand.size);
        for (let s = 0; s < sampledNegatives && cand.size < V; s++) {
          const t = 1 + Math.floor(rnd() * V);
          if (!cand.has(t)) cand.set(t, cand.size);
        }
        const candIds = Int32Array.from(cand.keys());
        const C = candIds.length;
        if (R > 0) {
          if (recIdx.length < size * C) recIdx = new Int32Array(size * C);
          recencyIndex(recIdx, seqs, C, R, (item) => cand.get(item) ?? -1);
        }
        const dropout = rp.dropout > 0 ? { rate: rp.dropout, seed: params.seed * 100_003 + epoch * 10_007 + bi * 2 } : undefined;
        const loss = tf.tidy(() => {
          const idsT = tf.tensor2d(ids, [size, len], 'int32');
          const maskT = tf.tensor2d(mask, [size, len]);
          const candT = tf.tensor1d(candIds, 'int32');
          const recT = R > 0 ? tf.tensor2d(recIdx.subarray(0, size * C), [size, C], 'int32') : undefined;
          const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), C);
          return optimizer.minimize(() => {
            const h = encoder.finalState(weights, idsT, maskT, params, dropout);
            let logits: tf.Tensor2D = tf.add(tf.matMul(h, tf.gather(weights.outEmb, candT), false, true), tf.gather(weights.outBias, candT));
            if (recT) logits = tf.add(logits, tf.gather(tf.reshape(repeatScores(weights, h), [-1]), recT));
            return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
          }, true, trainable)!;
        });
        const lv = (await loss.data())[0]!;
        loss.dispose();
        if (!Number.isFinite(lv)) throw new SkiffError('TRAINING_FAILED', `loss became ${lv} in epoch ${epoch}, batch ${bi}`, { retryable: false });
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
      await onEpochEnd?.({ epoch, loss: mean, samplesPerSecond: summary.samplesPerSecond, model: model(), ...(score !== undefined ? { score } : {}), ...(best ? { bestEpoch: best.epoch, bestScore: best.score } : {}), stop });
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

/** True if `dir` holds a saved model (e.g. a checkpoint to resume from). */
export async function hasSavedModel(dir: string): Promise<boolean> {
  try {
    await access(path.join(dir, 'model.json'));
    await access(path.join(dir, 'weights.bin'));
    return true;
  } catch {
    return false;
  }
}
