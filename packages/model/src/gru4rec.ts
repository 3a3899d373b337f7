import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkiffError, type Recommender, type ScoredItem, type TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { mulberry32, shuffleInPlace } from './random.js';
import { itemCounts, Vocabulary } from './vocabulary.js';

/**
 * A GRU4Rec-style next-item model written with tfjs ops: item embedding → GRU → session state h;
 * score(item) = h · outputEmbedding(item) + bias(item). Trained on (prefix → next item) pairs with
 * in-batch negatives (the other targets of the mini-batch, plus optional uniformly sampled extra
 * items) and softmax cross-entropy over that candidate set — never a full softmax over all items.
 */

const FORMAT = 'skiff-gru4rec';
const WEIGHT_NAMES = ['itemEmb', 'W', 'U', 'b', 'outEmb', 'outBias'] as const;
type WeightName = (typeof WEIGHT_NAMES)[number];
type Weights = Record<WeightName, tf.Variable>;

/** How many popular items the artifact keeps for sessions without a known item. */
const POPULAR_KEPT = 1000;

export interface Gru4RecConfig {
  /** Artifact kind (see artifact.ts); absent in configs written before kinds existed. */
  kind?: 'gru4rec';
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
}

let variableCounter = 0;
function variable(name: WeightName, t: tf.Tensor, trainable: boolean): tf.Variable {
  return tf.variable(t, trainable, `gru4rec_${++variableCounter}/${name}`);
}

function initWeights(items: number, p: TrainParams): Weights {
  const { embeddingDim: d, hiddenUnits: h, seed } = p;
  return tf.tidy(() => ({
    itemEmb: variable('itemEmb', tf.randomNormal([items + 1, d], 0, 0.1, 'float32', seed), true),
    W: variable('W', tf.randomUniform([d, 3 * h], -Math.sqrt(6 / (d + h)), Math.sqrt(6 / (d + h)), 'float32', seed + 1), true),
    U: variable('U', tf.randomUniform([h, 3 * h], -Math.sqrt(3 / h), Math.sqrt(3 / h), 'float32', seed + 2), true),
    b: variable('b', tf.zeros([3 * h]), true),
    outEmb: variable('outEmb', tf.randomNormal([items + 1, h], 0, 0.1, 'float32', seed + 3), true),
    outBias: variable('outBias', tf.zeros([items + 1]), true),
  }));
}

/**
 * Runs the GRU over left-padded ids [B, L] (mask [B, L], 0 on padding) and returns the final
 * state [B, H]. Padding steps keep the state unchanged, so left padding equals no padding.
 * Cell: z, r = σ(x·W + h·U + b); n = tanh(x·W_n + b_n + r ⊙ (h·U_n)); h' = (1 − z) ⊙ n + z ⊙ h.
 */
function gruFinalState(w: Weights, ids: tf.Tensor2D, mask: tf.Tensor2D, hidden: number): tf.Tensor2D {
  const [batch, steps] = ids.shape;
  const emb = tf.gather(w.itemEmb, ids); // [B, L, D]
  const gx = tf.add(tf.matMul(tf.reshape(emb, [batch * steps, -1]), w.W), w.b).reshape([batch, steps, 3 * hidden]);
  const gxs = tf.unstack(gx, 1) as tf.Tensor2D[];
  const ms = tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[];
  let h: tf.Tensor2D = tf.zeros([batch, hidden]);
  for (let t = 0; t < steps; t++) {
    const [xz, xr, xn] = tf.split(gxs[t]!, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [hz, hr, hn] = tf.split(tf.matMul(h, w.U), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const z = tf.sigmoid(tf.add(xz, hz));
    const r = tf.sigmoid(tf.add(xr, hr));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
    h = tf.add(h, tf.mul(ms[t]!, tf.sub(hNew, h)));
  }
  return h;
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

export class Gru4RecModel implements Recommender {
  readonly name = 'gru4rec';
  readonly vocabulary: readonly string[];

  constructor(
    readonly vocab: Vocabulary,
    private readonly weights: Weights,
    readonly config: Gru4RecConfig,
    /** Set on a freshly trained model (not on a loaded one). */
    readonly training?: TrainingSummary,
  ) {
    this.vocabulary = vocab.items;
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
    const kk = Math.max(0, Math.min(k, this.vocab.size));
    if (kk === 0) return seqs.map(() => ({ ids: new Int32Array(0), scores: new Float32Array(0) }));
    const { ids, mask } = pad(seqs, len);
    const [values, indices] = tf.tidy(() => {
      const h = gruFinalState(this.weights, tf.tensor2d(ids, [seqs.length, len], 'int32'), tf.tensor2d(mask, [seqs.length, len]), this.config.params.hiddenUnits);
      // Row 0 of the tables is padding: score items 1..V only.
      const out = tf.slice(this.weights.outEmb, [1, 0], [-1, -1]);
      const bias = tf.slice(this.weights.outBias, [1], [-1]);
      const t = tf.topk(tf.add(tf.matMul(h, out, false, true), bias), kk);
      return [t.values, t.indices];
    });
    const v = values.dataSync() as Float32Array;
    const ix = indices.dataSync() as Int32Array;
    tf.dispose([values, indices]);
    return seqs.map((_, b) => ({ ids: ix.subarray(b * kk, (b + 1) * kk).map((i) => i + 1), scores: v.subarray(b * kk, (b + 1) * kk) }));
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

  /** Runs the network on up to `batchSize` histories at a time; top-k with tf.topk. */
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
    const { data, specs } = await tf.io.encodeWeights(WEIGHT_NAMES.map((name) => ({ name, tensor: this.weights[name] })));
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
      format: FORMAT,
      generatedBy: `@tensorflow/tfjs ${tf.version.tfjs}`,
      modelTopology: { type: 'gru4rec', items: this.vocab.size, embeddingDim: p.embeddingDim, hiddenUnits: p.hiddenUnits, maxLen: p.maxLen },
      weightSpecs: specs,
      weightData: data,
    });
    return files;
  }

  dispose(): void {
    tf.dispose(Object.values(this.weights));
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
  if (modelJson.format !== FORMAT) throw new SkiffError('ARTIFACT_CORRUPTED', `${dir} is not a skiff GRU4Rec model (format ${String(modelJson.format)})`);
  const bin = await read('weights.bin');
  const named = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), modelJson.weightsManifest[0]?.weights ?? []);
  try {
    const weights = {} as Weights;
    for (const n of WEIGHT_NAMES) {
      const t = named[n];
      if (!t) throw new SkiffError('ARTIFACT_CORRUPTED', `weight ${n} missing in ${dir}`);
      weights[n] = variable(n, t, trainable);
    }
    const vocab = new Vocabulary(JSON.parse((await read('vocabulary.json')).toString('utf8')) as string[]);
    const config = JSON.parse((await read('config.json')).toString('utf8')) as Gru4RecConfig;
    if (weights.outEmb.shape[0] !== vocab.size + 1) throw new SkiffError('ARTIFACT_CORRUPTED', `${dir}: weights do not match vocabulary.json`);
    return { vocab, weights, config };
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** Loads an artifact written by `Gru4RecModel.save`. */
export async function loadGru4Rec(dir: string): Promise<Gru4RecModel> {
  await initBackend();
  const { vocab, weights, config } = await loadParts(dir, false);
  return new Gru4RecModel(vocab, weights, config);
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
  /** Extra uniformly sampled negatives per batch, on top of the in-batch ones (default 64). */
  sampledNegatives?: number;
  /** `epoch` is the 0-based index of the epoch that just finished. */
  /** `model` scores with the current weights (for validation); do not dispose it. */
  onEpochEnd?: (e: { epoch: number; loss: number; samplesPerSecond: number; model: Gru4RecModel }) => void | Promise<void>;
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
 * (initialisers, shuffling, negative sampling). Yields to the event loop after every batch and
 * awaits the callbacks, so heartbeats and cancellation (`signal`) get through.
 */
export async function trainGru4Rec(options: TrainGru4RecOptions): Promise<Gru4RecModel> {
  const { train, params, initialEpoch = 0, initialWeightsDir, checkpointDir, sampledNegatives = 64, onEpochEnd, onBatchEnd, signal } = options;
  const { backend } = await initBackend();
  const started = performance.now();
  const vocab = Vocabulary.fromSessions(train);
  if (vocab.size < 2) throw new SkiffError('BAD_INPUT', 'training data has fewer than two distinct items');
  const counts = itemCounts(train);
  const popularity = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, POPULAR_KEPT);
  const config: Gru4RecConfig = { kind: 'gru4rec', params, backend, popularity };

  let weights: Weights;
  if (initialWeightsDir) {
    const loaded = await loadParts(initialWeightsDir, true);
    const same = loaded.vocab.size === vocab.size && loaded.vocab.items.every((it, i) => it === vocab.items[i]);
    const shapeOk = loaded.weights.W.shape[0] === params.embeddingDim && loaded.weights.U.shape[0] === params.hiddenUnits;
    if (!same || !shapeOk) {
      tf.dispose(Object.values(loaded.weights));
      throw new SkiffError('BAD_INPUT', `initial weights in ${initialWeightsDir} do not match this training data / params`, { retryable: false });
    }
    weights = loaded.weights;
  } else weights = initWeights(vocab.size, params);
  const model = (summary?: TrainingSummary) => new Gru4RecModel(vocab, weights, config, summary);

  const ex = prefixExamples(train.map((s) => s.map((i) => vocab.id(i))), params.maxLen);
  const n = ex.target.length;
  const summary: TrainingSummary = { losses: [], samplesPerSecond: 0, trainSeconds: 0, examples: n };
  if (n === 0) throw new SkiffError('BAD_INPUT', 'training data has no session with two or more items');
  const B = params.batchSize;
  const batches = Math.ceil(n / B);
  const optimizer = tf.train.adam(params.learningRate);
  const trainable = WEIGHT_NAMES.map((k) => weights[k]);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const V = vocab.size;

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
        // Candidates: the distinct targets of the batch plus uniformly sampled extra items.
        const cand = new Map<number, number>();
        const labels = new Int32Array(size);
        rows.forEach((r, j) => {
          const t = ex.target[r]!;
          if (!cand.has(t)) cand.set(t, cand.size);
          labels[j] = cand.get(t)!;
        });
        for (let s = 0; s < sampledNegatives && cand.size < V; s++) {
          const t = 1 + Math.floor(rnd() * V);
          if (!cand.has(t)) cand.set(t, cand.size);
        }
        const candIds = Int32Array.from(cand.keys());
        const loss = tf.tidy(() => {
          const idsT = tf.tensor2d(ids, [size, len], 'int32');
          const maskT = tf.tensor2d(mask, [size, len]);
          const candT = tf.tensor1d(candIds, 'int32');
          const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), candIds.length);
          return optimizer.minimize(() => {
            const h = gruFinalState(weights, idsT, maskT, params.hiddenUnits);
            const logits = tf.add(tf.matMul(h, tf.gather(weights.outEmb, candT), false, true), tf.gather(weights.outBias, candT));
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
      if (checkpointDir) await model().save(checkpointDir);
      await onEpochEnd?.({ epoch, loss: mean, samplesPerSecond: summary.samplesPerSecond, model: model() });
    }
  } catch (e) {
    tf.dispose(trainable);
    throw e;
  } finally {
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
