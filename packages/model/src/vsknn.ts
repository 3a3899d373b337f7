import { SkiffError, type Recommender, type ScoredItem } from '@skiff/core';
import { RankedItems } from './ranked-items.js';
import { KnnScratch, loadKnnArtifact, recencyOrder, saveKnnArtifact, SessionIndex } from './session-knn.js';

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
  private readonly index: SessionIndex;
  private readonly idf: Float64Array | undefined;
  private readonly scratch: KnnScratch;
  private sims = new Float64Array(1024);
  private steps = new Int32Array(1024);

  constructor(
    readonly ranked: RankedItems,
    /** Distinct item indices per session, most recent session first. */
    sessions: ReadonlyArray<ArrayLike<number>>,
    readonly lastTimes: Float64Array,
    readonly params: VsknnParams,
  ) {
    this.vocabulary = ranked.items;
    const S = sessions.length;
    this.index = new SessionIndex(sessions, ranked.size);
    if (params.idfWeighting) {
      this.idf = Float64Array.from(ranked.counts, (c) => Math.log(S / c));
    }
    this.scratch = new KnnScratch(ranked.size, S);
  }

  get sessionCount(): number {
    return this.index.sessionCount;
  }

  private grow(need: number): void {
    if (!this.scratch.grow(need)) return;
    this.sims = new Float64Array(this.scratch.cand.length);
    this.steps = new Int32Array(this.scratch.cand.length);
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const p = this.params;
    const { ranked, idf, scratch } = this;
    const { setOff: sessOff, setItems: sessItems, itemOff, itemSess } = this.index;
    // Known prefix items with their position weights (a repeat keeps its latest position).
    const prefix = scratch.begin(ranked, history, k, (c, L) => positionWeight(p.weighting, c, L));
    const { posW, lastPos, sessStamp, itemStamp, score, touched, gen } = scratch;
    const { distinct } = prefix;
    const L = prefix.ids.length;
    if (L === 0) return scratch.top.toList(ranked, k, 1, () => false, exclude);
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
          scratch.cand[nc++] = s;
        }
      }
    }
    const cand = scratch.cand.subarray(0, nc).sort();
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
    return scratch.finish(ranked, k, nt, p.remind, exclude, prefix);
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map((h) => this.recommend(h, k));
  }

  async save(dir: string): Promise<string[]> {
    return saveKnnArtifact(dir, { kind: 'vsknn', params: this.params }, this.ranked, this.index, this.lastTimes);
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
  const ranked = RankedItems.fromSessions(train);
  const { order, times } = recencyOrder(train, options.lastTimes);
  const sessions = order.map((i) => [...new Set(train[i]!.map((it) => ranked.id(it)))]);
  return new VsknnModel(ranked, sessions, times, p);
}

export async function loadVsknn(dir: string): Promise<VsknnModel> {
  const { config, ranked, sessions, lastTimes } = await loadKnnArtifact<VsknnParams>(dir);
  return new VsknnModel(ranked, sessions, lastTimes, { ...DEFAULT_VSKNN_PARAMS, ...config.params });
}
