import { SkiffError, type Recommender, type ScoredItem } from '@skiff/core';
import { readArtifactJson, writeArtifactFiles, type ArtifactConfig } from './artifact.js';
import { RankedItems, TopK } from './ranked-items.js';

export type VsknnPositionWeighting = 'div' | 'quadratic' | 'same' | 'log' | 'linear';
export type VsknnScoreWeighting = 'div' | 'quadratic' | 'linear' | 'log' | 'same';

export interface VsknnParams {
  /** Neighbours kept (top k by similarity). */
  k: number;
  /** Candidate sessions: the `sampleSize` most recent training sessions sharing an item with the prefix (0 = all). */
  sampleSize: number;
  /** `vec`: Σ_{i ∈ set(s) ∩ n} pos(i) / |set(s)|; `cosine`: that dot product / (‖pos‖ · sqrt|n|). */
  similarity: 'vec' | 'cosine';
  /** Position weight pos(i_c) of the c-th of L prefix events (session-rec `weighting`). */
  weighting: VsknnPositionWeighting;
  /** Decay by the distance from the end of the latest prefix item found in the neighbour (session-rec `weighting_score`). */
  weightingScore: VsknnScoreWeighting;
  /** 0 = off; else score += score · idf(j) · idfWeighting, idf(j) = ln(#sessions / #events of j). */
  idfWeighting: number;
  /** Whether items of the current prefix may be recommended (session-rec `remind`). */
  remind: boolean;
}

/** session-rec's RSC15-tuned VMContextKNN (k 100, sample 1000, quadratic / quadratic), the reference on the 100k sample. */
export const DEFAULT_VSKNN_PARAMS: VsknnParams = {
  k: 100,
  sampleSize: 1000,
  similarity: 'vec',
  weighting: 'quadratic',
  weightingScore: 'quadratic',
  idfWeighting: 0,
  remind: true,
};

function positionWeight(w: VsknnPositionWeighting, c: number, len: number): number {
  switch (w) {
    case 'div':
      return c / len;
    case 'quadratic':
      return (c / len) * (c / len);
    case 'same':
      return 1;
    case 'log':
      return 1 / Math.log10(len - c + 1.7);
    case 'linear':
      // session-rec tests c ≤ 10 (not len − c ≤ 10); kept as is.
      return c <= 10 ? 1 - 0.1 * (len - c) : 0;
  }
}

function scoreDecay(w: VsknnScoreWeighting, step: number): number {
  switch (w) {
    case 'div':
      return 1 / step;
    case 'quadratic':
      return 1 / (step * step);
    case 'linear':
      return step <= 100 ? 1 - 0.1 * step : 0;
    case 'log':
      return 1 / Math.log10(step + 1.7);
    case 'same':
      return 1;
  }
}

/** `sessions.json`: distinct item indices per training session, most recent session first, with its last timestamp. */
interface SessionsJson {
  lastTimes: number[];
  sessions: number[][];
}

/**
 * V-SKNN (Ludewig & Jannach 2018; session-rec `knn/vsknn.py`, `VMContextKNN`), stateless per
 * request so that it serves any prefix:
 * 1. candidates = training sessions sharing an item with the prefix; keep the `sampleSize` most
 *    recent by last timestamp;
 * 2. similarity with position weights pos(i_c) (a repeated item keeps its latest position);
 *    neighbours with sim 0 are dropped and the top `k` kept (ties: more recent first);
 * 3. every item j of a neighbour n gets sim(s, n) · decay(step), step = distance from the end of
 *    the latest prefix item that occurs in n (1 = the last item);
 * 4. scores normalised by the maximum; ties go to the more popular item; short lists are filled
 *    with the most popular items (score 0).
 *
 * Tables are CSR typed arrays (session → items, item → sessions sorted by recency), so a request
 * costs O(sampleSize · |session|) with no allocation besides the result.
 *
 * Artifact: `config.json` `{ kind: 'vsknn', params }`, `items.json`, `sessions.json`.
 */
export class VsknnModel implements Recommender {
  readonly name = 'vsknn';
  readonly kind = 'vsknn' as const;
  readonly vocabulary: readonly string[];
  private readonly sessOff: Int32Array;
  private readonly sessItems: Int32Array;
  private readonly itemOff: Int32Array;
  private readonly itemSess: Int32Array;
  private readonly idf: Float64Array | undefined;
  // Scratch space reused by every request (JS is single-threaded; recommend is synchronous).
  private readonly posW: Float64Array;
  private readonly lastPos: Int32Array;
  private readonly sessStamp: Int32Array;
  private readonly itemStamp: Int32Array;
  private readonly score: Float64Array;
  private readonly touched: Int32Array;
  private cand = new Int32Array(1024);
  private sims = new Float64Array(1024);
  private steps = new Int32Array(1024);
  private gen = 0;
  private readonly top = new TopK();

  constructor(
    readonly ranked: RankedItems,
    /** Distinct item indices per session, most recent session first. */
    sessions: ReadonlyArray<ArrayLike<number>>,
    readonly lastTimes: Float64Array,
    readonly params: VsknnParams,
  ) {
    this.vocabulary = ranked.items;
    const n = ranked.size;
    const S = sessions.length;
    this.sessOff = new Int32Array(S + 1);
    let total = 0;
    sessions.forEach((s, i) => {
      total += s.length;
      this.sessOff[i + 1] = total;
    });
    this.sessItems = new Int32Array(total);
    const perItem = new Int32Array(n);
    sessions.forEach((s, i) => {
      for (let j = 0; j < s.length; j++) {
        const it = s[j]!;
        if (!(it >= 0 && it < n))
          throw new SkiffError('ARTIFACT_CORRUPTED', `session ${i} refers to unknown item index ${it}`);
        this.sessItems[this.sessOff[i]! + j] = it;
        perItem[it]!++;
      }
    });
    this.itemOff = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.itemOff[i + 1] = this.itemOff[i]! + perItem[i]!;
    this.itemSess = new Int32Array(total);
    const fill = this.itemOff.slice(0, n);
    // Sessions in ascending index = most recent first, so every item's list is sorted by recency.
    for (let s = 0; s < S; s++)
      for (let j = this.sessOff[s]!; j < this.sessOff[s + 1]!; j++) this.itemSess[fill[this.sessItems[j]!]!++] = s;
    if (params.idfWeighting) {
      this.idf = Float64Array.from(ranked.counts, (c) => Math.log(S / c));
    }
    this.posW = new Float64Array(n);
    this.lastPos = new Int32Array(n);
    this.itemStamp = new Int32Array(n);
    this.score = new Float64Array(n);
    this.touched = new Int32Array(n);
    this.sessStamp = new Int32Array(S);
  }

  get sessionCount(): number {
    return this.sessOff.length - 1;
  }

  private grow(need: number): void {
    if (need <= this.cand.length) return;
    let size = this.cand.length;
    while (size < need) size *= 2;
    const c = new Int32Array(size);
    c.set(this.cand);
    this.cand = c;
    this.sims = new Float64Array(size);
    this.steps = new Int32Array(size);
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const p = this.params;
    const { ranked, posW, lastPos, sessStamp, itemStamp, score, touched, sessOff, sessItems, itemOff, itemSess, idf } =
      this;
    if (++this.gen > 0x7ffffff0) {
      this.gen = 1;
      sessStamp.fill(0);
      itemStamp.fill(0);
    }
    const gen = this.gen;
    // Known prefix items with their position weights (a repeat keeps its latest position).
    const ids: number[] = [];
    for (const h of history) {
      const id = ranked.id(h);
      if (id >= 0) ids.push(id);
    }
    const L = ids.length;
    this.top.reset(k);
    if (L === 0) return this.top.toList(ranked, k, 1, () => false, exclude);
    const distinct: number[] = [];
    for (let c = 1; c <= L; c++) {
      const id = ids[c - 1]!;
      if (lastPos[id] === 0) distinct.push(id);
      posW[id] = positionWeight(p.weighting, c, L);
      lastPos[id] = c;
    }
    // 1. Candidates: the sampleSize most recent sessions of the union. A session among the most
    // recent sampleSize of the union is among the most recent sampleSize of each of its items' lists.
    const sample = p.sampleSize > 0 ? p.sampleSize : Number.MAX_SAFE_INTEGER;
    let nc = 0;
    for (const id of distinct) {
      const end = Math.min(itemOff[id + 1]!, itemOff[id]! + sample);
      this.grow(nc + end - itemOff[id]!);
      for (let j = itemOff[id]!; j < end; j++) {
        const s = itemSess[j]!;
        if (sessStamp[s] !== gen) {
          sessStamp[s] = gen;
          this.cand[nc++] = s;
        }
      }
    }
    const cand = this.cand.subarray(0, nc).sort();
    if (nc > sample) nc = sample;
    // 2. Similarities and the decay step of each candidate.
    const { sims, steps } = this;
    let norm = distinct.length;
    if (p.similarity === 'cosine') {
      let q = 0;
      for (const id of distinct) q += posW[id]! * posW[id]!;
      norm = Math.sqrt(q);
    }
    let positive = 0;
    for (let c = 0; c < nc; c++) {
      const s = cand[c]!;
      let dot = 0;
      let latest = 0;
      for (let j = sessOff[s]!; j < sessOff[s + 1]!; j++) {
        const it = sessItems[j]!;
        const lp = lastPos[it]!;
        if (lp > 0) {
          dot += posW[it]!;
          if (lp > latest) latest = lp;
        }
      }
      const sim = p.similarity === 'cosine' ? dot / (norm * Math.sqrt(sessOff[s + 1]! - sessOff[s]!)) : dot / norm;
      sims[c] = sim;
      steps[c] = L - latest + 1;
      if (sim > 0) positive++;
    }
    // Top k by similarity: threshold from a native sort of the similarities; ties → more recent.
    let threshold = 0;
    let atThreshold = Number.MAX_SAFE_INTEGER;
    if (positive > p.k) {
      const sorted = sims.slice(0, nc).sort();
      threshold = sorted[nc - p.k]!;
      let above = 0;
      for (let c = 0; c < nc; c++) if (sims[c]! > threshold) above++;
      atThreshold = p.k - above;
    }
    // 3. Scores.
    let nt = 0;
    for (let c = 0; c < nc; c++) {
      const sim = sims[c]!;
      if (!(sim > 0) || sim < threshold) continue;
      if (sim === threshold && positive > p.k && atThreshold-- <= 0) continue;
      const contrib = sim * scoreDecay(p.weightingScore, steps[c]!);
      const s = cand[c]!;
      for (let j = sessOff[s]!; j < sessOff[s + 1]!; j++) {
        const it = sessItems[j]!;
        if (!p.remind && lastPos[it]! > 0) continue;
        if (itemStamp[it] !== gen) {
          itemStamp[it] = gen;
          score[it] = 0;
          touched[nt++] = it;
        }
        score[it] = score[it]! + (idf ? contrib + contrib * idf[it]! * p.idfWeighting : contrib);
      }
    }
    // 4. Ranking.
    let max = 0;
    for (let t = 0; t < nt; t++) {
      const it = touched[t]!;
      const v = score[it]!;
      if (v > max) max = v;
      if (!exclude || !exclude.has(ranked.item(it))) this.top.push(it, v);
    }
    const list = this.top.toList(
      ranked,
      k,
      max,
      (id) => itemStamp[id] === gen || (!p.remind && lastPos[id]! > 0),
      exclude,
    );
    for (const id of distinct) {
      posW[id] = 0;
      lastPos[id] = 0;
    }
    return list;
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map((h) => this.recommend(h, k));
  }

  async save(dir: string): Promise<string[]> {
    const config: ArtifactConfig<VsknnParams> = { kind: 'vsknn', params: this.params };
    const sessions: SessionsJson = { lastTimes: Array.from(this.lastTimes), sessions: [] };
    for (let s = 0; s < this.sessionCount; s++)
      sessions.sessions.push(Array.from(this.sessItems.subarray(this.sessOff[s]!, this.sessOff[s + 1]!)));
    return writeArtifactFiles(dir, [
      ['items.json', JSON.stringify(this.ranked.toJSON())],
      ['sessions.json', JSON.stringify(sessions)],
      ['config.json', JSON.stringify(config, null, 2)],
    ]);
  }
}

export interface TrainVsknnOptions {
  /**
   * Timestamp of the last event of every training session (same order as `train`), used to pick
   * the most recent candidates. Without it the array order is the time order (later = more
   * recent), which is how snapshot split files are ordered (by session start).
   */
  lastTimes?: readonly number[];
}

export function trainVsknn(
  train: readonly (readonly string[])[],
  params: Partial<VsknnParams> = {},
  options: TrainVsknnOptions = {},
): VsknnModel {
  const p: VsknnParams = { ...DEFAULT_VSKNN_PARAMS, ...params };
  if (!(p.k >= 1) || !(p.sampleSize >= 0))
    throw new SkiffError('BAD_INPUT', `invalid V-SKNN params ${JSON.stringify(p)}`);
  const { lastTimes } = options;
  if (lastTimes && lastTimes.length !== train.length)
    throw new SkiffError('BAD_INPUT', `lastTimes has ${lastTimes.length} entries for ${train.length} sessions`);
  const ranked = RankedItems.fromSessions(train);
  const time = (i: number) => (lastTimes ? lastTimes[i]! : i);
  // Most recent first; equal times: the later session in the input first.
  const order = train.map((_, i) => i).sort((a, b) => time(b) - time(a) || b - a);
  const sessions = order.map((i) => [...new Set(train[i]!.map((it) => ranked.id(it)))]);
  return new VsknnModel(ranked, sessions, Float64Array.from(order, time), p);
}

export async function loadVsknn(dir: string): Promise<VsknnModel> {
  const config = await readArtifactJson<ArtifactConfig<VsknnParams>>(dir, 'config.json');
  const ranked = new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json'));
  const s = await readArtifactJson<SessionsJson>(dir, 'sessions.json');
  if (!Array.isArray(s.sessions) || s.lastTimes?.length !== s.sessions.length)
    throw new SkiffError('ARTIFACT_CORRUPTED', `sessions.json in ${dir} is malformed`);
  return new VsknnModel(ranked, s.sessions, Float64Array.from(s.lastTimes), {
    ...DEFAULT_VSKNN_PARAMS,
    ...config.params,
  });
}
