import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkiffError, type Recommender, type ScoredItem, type TrainParams } from '@skiff/core';
import { initBackend } from './backend.js';
import { itemCounts, Vocabulary } from './vocabulary.js';

/**
 * A GRU4Rec-style next-item model written with tfjs ops: item embedding → GRU → session state;
 * score(item) = state · outputEmbedding(item) + bias(item). Trained on every position of every
 * session window at once, with the other targets of the mini-batch as negatives (in-batch
 * sampled softmax, as GRU4Rec's mini-batch negative sampling), never a full softmax over all items.
 */

const WEIGHT_NAMES = ['itemEmb', 'W', 'U', 'b', 'outEmb', 'outBias'] as const;
type WeightName = (typeof WEIGHT_NAMES)[number];
type Weights = Record<WeightName, tf.Variable>;

export interface Gru4RecConfig {
  params: TrainParams;
  backend: string;
  /** Most popular training items, the answer when a session has no known item. */
  popular: string[];
}

function mulberry(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function initWeights(items: number, p: TrainParams): Weights {
  const { embeddingDim: d, hiddenUnits: h, seed } = p;
  const v = (name: WeightName, t: tf.Tensor) => tf.variable(t, true, `${name}_${seed}_${Math.random().toString(36).slice(2)}`);
  return {
    itemEmb: v('itemEmb', tf.randomNormal([items + 1, d], 0, 0.1, 'float32', seed)),
    W: v('W', tf.randomNormal([d, 3 * h], 0, 1 / Math.sqrt(d), 'float32', seed + 1)),
    U: v('U', tf.randomNormal([h, 3 * h], 0, 1 / Math.sqrt(h), 'float32', seed + 2)),
    b: v('b', tf.zeros([3 * h])),
    outEmb: v('outEmb', tf.randomNormal([items + 1, h], 0, 0.1, 'float32', seed + 3)),
    outBias: v('outBias', tf.zeros([items + 1])),
  };
}

/** Runs the GRU over left-padded ids [B, L] with mask [B, L]; returns the state after every step. */
function runGru(w: Weights, ids: tf.Tensor2D, mask: tf.Tensor2D, hidden: number): tf.Tensor2D[] {
  const [batch, steps] = ids.shape;
  const emb = tf.gather(w.itemEmb, ids); // [B, L, D]
  const gx = tf.add(tf.matMul(tf.reshape(emb, [batch * steps, -1]), w.W), w.b).reshape([batch, steps, 3 * hidden]);
  const gxs = tf.unstack(gx, 1) as tf.Tensor2D[];
  const ms = tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[];
  let h: tf.Tensor2D = tf.zeros([batch, hidden]);
  const out: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const [xz, xr, xn] = tf.split(gxs[t]!, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [hz, hr, hn] = tf.split(tf.matMul(h, w.U), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const z = tf.sigmoid(tf.add(xz, hz));
    const r = tf.sigmoid(tf.add(xr, hr));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
    // Padding steps (mask 0) keep the state: left padding then behaves like no padding.
    h = tf.add(h, tf.mul(ms[t]!, tf.sub(hNew, h)));
    out.push(h);
  }
  return out;
}

/** Left-pads id sequences to a common length. */
function pad(seqs: number[][], len: number): { ids: Int32Array; mask: Float32Array } {
  const ids = new Int32Array(seqs.length * len);
  const mask = new Float32Array(seqs.length * len);
  seqs.forEach((s, b) => {
    const off = b * len + len - s.length;
    s.forEach((id, j) => {
      ids[off + j] = id;
      mask[off + j] = 1;
    });
  });
  return { ids, mask };
}

export class Gru4RecModel implements Recommender {
  readonly name = 'gru4rec';
  readonly vocabulary: readonly string[];
  private readonly scoreMask: tf.Tensor1D;

  constructor(
    readonly vocab: Vocabulary,
    private readonly weights: Weights,
    readonly config: Gru4RecConfig,
  ) {
    this.vocabulary = vocab.items;
    // Index 0 is padding: never recommend it.
    this.scoreMask = tf.tensor1d(Array.from({ length: vocab.size + 1 }, (_, i) => (i === 0 ? -1e9 : 0)));
  }

  private encode(histories: ReadonlyArray<readonly string[]>): number[][] {
    const maxLen = this.config.params.maxLen;
    return histories.map((h) => h.map((i) => this.vocab.id(i)).filter((id) => id > 0).slice(-maxLen));
  }

  /** Top `k + extra` (index, score) per known history, computed in one forward pass. */
  private topIds(seqs: number[][], k: number): Array<{ ids: Int32Array; scores: Float32Array }> {
    const len = Math.max(1, ...seqs.map((s) => s.length));
    const kk = Math.min(k, this.vocab.size);
    const { ids, mask } = pad(seqs, len);
    const [values, indices] = tf.tidy(() => {
      const hs = runGru(this.weights, tf.tensor2d(ids, [seqs.length, len], 'int32'), tf.tensor2d(mask, [seqs.length, len]), this.config.params.hiddenUnits);
      const last = hs[hs.length - 1]!;
      const logits = tf.add(tf.add(tf.matMul(last, this.weights.outEmb, false, true), this.weights.outBias), this.scoreMask);
      const t = tf.topk(logits, kk);
      return [t.values, t.indices];
    });
    const v = values.dataSync() as Float32Array;
    const ix = indices.dataSync() as Int32Array;
    tf.dispose([values, indices]);
    return seqs.map((_, b) => ({ ids: ix.subarray(b * kk, (b + 1) * kk), scores: v.subarray(b * kk, (b + 1) * kk) }));
  }

  private popularList(k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    return this.config.popular.filter((i) => !exclude?.has(i)).slice(0, k).map((itemId, r) => ({ itemId, score: -r }));
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const [seq] = this.encode([history]);
    if (!seq || seq.length === 0) return this.popularList(k, exclude);
    const extra = exclude ? [...exclude].filter((i) => this.vocab.has(i)).length : 0;
    const [top] = this.topIds([seq], k + extra);
    const out: ScoredItem[] = [];
    for (let j = 0; j < top!.ids.length && out.length < k; j++) {
      const item = this.vocab.item(top!.ids[j]!);
      if (!exclude?.has(item)) out.push({ itemId: item, score: top!.scores[j]! });
    }
    return out;
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number, batchSize = 512): ScoredItem[][] {
    const seqs = this.encode(histories);
    const out: ScoredItem[][] = new Array(histories.length);
    const known: number[] = [];
    seqs.forEach((s, i) => (s.length ? known.push(i) : (out[i] = this.popularList(k))));
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

  /** Writes model.json + weights.bin (tfjs weights manifest), vocabulary.json, config.json. */
  async save(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const { data, specs } = await tf.io.encodeWeights(WEIGHT_NAMES.map((name) => ({ name, tensor: this.weights[name] })));
    const p = this.config.params;
    const modelJson = {
      format: 'skiff-gru4rec',
      formatVersion: 1,
      generatedBy: `@tensorflow/tfjs ${tf.version.tfjs}`,
      modelTopology: { type: 'gru4rec', items: this.vocab.size, embeddingDim: p.embeddingDim, hiddenUnits: p.hiddenUnits, maxLen: p.maxLen },
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    };
    const files: Array<[string, string | Uint8Array]> = [
      ['model.json', JSON.stringify(modelJson)],
      ['weights.bin', new Uint8Array(data as ArrayBuffer)],
      ['vocabulary.json', JSON.stringify(this.vocab.items)],
      ['config.json', JSON.stringify(this.config, null, 2)],
    ];
    for (const [name, body] of files) {
      const tmp = path.join(dir, `.${name}.tmp`);
      await writeFile(tmp, body);
      await rename(tmp, path.join(dir, name));
    }
    return files.map(([n]) => n);
  }

  dispose(): void {
    tf.dispose([...Object.values(this.weights), this.scoreMask]);
  }
}

export async function loadGru4Rec(dir: string): Promise<Gru4RecModel> {
  await initBackend();
  const read = (f: string) => readFile(path.join(dir, f));
  const modelJson = JSON.parse((await read('model.json')).toString('utf8')) as { format: string; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  if (modelJson.format !== 'skiff-gru4rec') throw new SkiffError('ARTIFACT_CORRUPTED', `${dir} is not a skiff GRU4Rec model (format ${modelJson.format})`);
  const bin = await read('weights.bin');
  const named = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), modelJson.weightsManifest[0]!.weights);
  const weights = Object.fromEntries(WEIGHT_NAMES.map((n) => {
    const t = named[n];
    if (!t) throw new SkiffError('ARTIFACT_CORRUPTED', `weight ${n} missing in ${dir}`);
    return [n, tf.variable(t, false)];
  })) as Weights;
  tf.dispose(Object.values(named));
  const vocab = new Vocabulary(JSON.parse((await read('vocabulary.json')).toString('utf8')) as string[]);
  const config = JSON.parse((await read('config.json')).toString('utf8')) as Gru4RecConfig;
  return new Gru4RecModel(vocab, weights, config);
}

export interface TrainGru4RecOptions {
  train: readonly (readonly string[])[];
  params: TrainParams;
  initialEpoch?: number;
  /** Saved after every epoch; loaded when resuming at initialEpoch > 0. */
  checkpointDir?: string;
  onEpochEnd?: (e: { epoch: number; epochs: number; loss: number; samplesPerSecond: number }) => void | Promise<void>;
  onBatchEnd?: (b: { epoch: number; batch: number; batches: number; loss?: number }) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Session windows of at most maxLen inputs, each with its next-item targets. */
export function sessionWindows(sessions: readonly (readonly number[])[], maxLen: number): Array<{ input: number[]; target: number[] }> {
  const out: Array<{ input: number[]; target: number[] }> = [];
  for (const s of sessions) {
    for (let start = 0; start < s.length - 1; start += maxLen) {
      const end = Math.min(start + maxLen, s.length - 1);
      out.push({ input: s.slice(start, end), target: s.slice(start + 1, end + 1) });
    }
  }
  return out;
}

export async function trainGru4Rec(options: TrainGru4RecOptions): Promise<{ model: Gru4RecModel; losses: number[]; samplesPerSecond: number }> {
  const { train, params, initialEpoch = 0, checkpointDir, onEpochEnd, onBatchEnd, signal } = options;
  const backend = await initBackend();
  const vocab = Vocabulary.fromSessions(train);
  if (vocab.size < 2) throw new SkiffError('TRAINING_FAILED', 'training data has fewer than two distinct items');
  const counts = itemCounts(train);
  const popular = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 500).map(([i]) => i);
  const config: Gru4RecConfig = { params, backend, popular };

  let model: Gru4RecModel;
  if (initialEpoch > 0 && checkpointDir) {
    model = await loadGru4Rec(checkpointDir).catch(() => new Gru4RecModel(vocab, initWeights(vocab.size, params), config));
  } else model = new Gru4RecModel(vocab, initWeights(vocab.size, params), config);
  const w = (model as unknown as { weights: Weights }).weights;
  const windows = sessionWindows(train.map((s) => s.map((i) => vocab.id(i))), params.maxLen);
  const targetsPerEpoch = windows.reduce((a, x) => a + x.target.length, 0);
  const optimizer = tf.train.adam(params.learningRate);
  const batches = Math.ceil(windows.length / params.batchSize);
  const losses: number[] = [];
  let sps = 0;

  for (let epoch = initialEpoch; epoch < params.epochs; epoch++) {
    const rnd = mulberry(params.seed * 1000 + epoch);
    const order = windows.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const t0 = performance.now();
    let lossSum = 0;
    for (let bi = 0; bi < batches; bi++) {
      if (signal?.aborted) throw new SkiffError('TRAINING_FAILED', 'training cancelled', { retryable: false });
      const batch = order.slice(bi * params.batchSize, (bi + 1) * params.batchSize).map((i) => windows[i]!);
      const len = Math.max(...batch.map((b) => b.input.length));
      const { ids, mask } = pad(batch.map((b) => b.input), len);
      // Valid (position, target) pairs and the unique targets that serve as the candidate set.
      const positions: number[] = [];
      const labels: number[] = [];
      const cand = new Map<number, number>();
      batch.forEach((b, r) => {
        const off = r * len + len - b.input.length;
        b.target.forEach((t, j) => {
          positions.push(off + j);
          if (!cand.has(t)) cand.set(t, cand.size);
          labels.push(cand.get(t)!);
        });
      });
      const candIds = [...cand.keys()];
      const loss: tf.Scalar = tf.tidy(() => {
        const idsT = tf.tensor2d(ids, [batch.length, len], 'int32');
        const maskT = tf.tensor2d(mask, [batch.length, len]);
        const posT = tf.tensor1d(positions, 'int32');
        const candT = tf.tensor1d(candIds, 'int32');
        const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), candIds.length);
        return optimizer.minimize(() => {
          const hs = tf.stack(runGru(w, idsT, maskT, params.hiddenUnits), 1).reshape([batch.length * len, params.hiddenUnits]);
          const h = tf.gather(hs, posT);
          const logits = tf.add(tf.matMul(h, tf.gather(w.outEmb, candT), false, true), tf.gather(w.outBias, candT));
          return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
        }, true, Object.values(w))!;
      });
      const lv = (await loss.data())[0]!;
      loss.dispose();
      lossSum += lv;
      await onBatchEnd?.({ epoch, batch: bi, batches, loss: lv });
      // Yield so that heartbeats and cancellation get through while training.
      await new Promise((r) => setImmediate(r));
    }
    sps = targetsPerEpoch / ((performance.now() - t0) / 1000);
    const mean = lossSum / batches;
    losses.push(mean);
    if (checkpointDir) await model.save(checkpointDir);
    await onEpochEnd?.({ epoch: epoch + 1, epochs: params.epochs, loss: mean, samplesPerSecond: sps });
  }
  optimizer.dispose();
  return { model, losses, samplesPerSecond: sps };
}

export async function removeCheckpoint(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
