import { SkiffError, type Recommender, type ScoredItem } from '@skiff/core';
import { RankedItems } from './ranked-items.js';
import { KnnScratch, loadKnnArtifact, recencyOrder, saveKnnArtifact, SessionIndex } from './session-knn.js';

/** STAN's four knobs (Garg et al. 2019). Every λ set to 0 switches its factor off (weight 1). */
export interface StanParams {
  /** Neighbours kept (top k by recency-weighted similarity). */
  k: number;
  /** Candidates: the `sampleSize` most recent training sessions sharing an item with the prefix (0 = all). */
  sampleSize: number;
  /** λ1: the c-th of L prefix events weighs exp((c − L)/λ1) in the similarity (a repeat keeps its latest position). */
  lambdaSpw: number;
  /** λ2 in days: a neighbour's similarity is multiplied by exp(−age/λ2), age = time since its last event. */
  lambdaSnh: number;
  /** λ3: item j of neighbour n gets exp(−|p(j) − p*|/λ3), p* = last position in n of an item of the prefix. */
  lambdaInh: number;
  /** Whether items of the current prefix may be recommended (session-rec `remind`). */
  remind: boolean;
}

/** VSTAN (Ludewig et al. 2021) = STAN + V-SKNN's match-position decay and IDF boost. */
export interface VstanParams extends StanParams {
  /** λ4: a neighbour's contribution × exp((c* − L)/λ4), c* = latest prefix position whose item is in the neighbour. */
  lambdaIpw: number;
  /** Every contribution to item j is multiplied by 1 + idf(j) · lambdaIdf, idf(j) = ln(#sessions / #events of j). */
  lambdaIdf: number;
}

export type StanKind = 'stan' | 'vstan';

/** session-rec's RSC15 setting of STAN (its MRR-tuned `stan-mrr`). */
export const DEFAULT_STAN_PARAMS: StanParams = {
  k: 1000,
  sampleSize: 10_000,
  lambdaSpw: 1e-5,
  lambdaSnh: 10,
  lambdaInh: 2,
  remind: true,
};
/** session-rec's RSC15 setting of VSTAN (its MRR-tuned `vstan-mrr`, cosine similarity). */
export const DEFAULT_VSTAN_PARAMS: VstanParams = {
  k: 1500,
  sampleSize: 10_000,
  lambdaSpw: 0.5,
  lambdaSnh: 5,
  lambdaInh: 2,
  remind: true,
  lambdaIpw: 2,
  lambdaIdf: 2,
};

const DAY_SECONDS = 86_400;

/**
 * The k-th largest of a[0, n) (1 ≤ k ≤ n), reordering `a`: Hoare-style quickselect with a
 * median-of-three pivot, O(n) expected.
 */
function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x > y ? (y > z ? y : x > z ? z : x) : x > z ? x : y > z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

function checkParams(kind: StanKind, p: StanParams | VstanParams): void {
  const finiteNonNeg = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const ok =
    Number.isInteger(p.k) &&
    p.k >= 1 &&
    Number.isInteger(p.sampleSize) &&
    p.sampleSize >= 0 &&
    finiteNonNeg(p.lambdaSpw) &&
    finiteNonNeg(p.lambdaSnh) &&
    finiteNonNeg(p.lambdaInh) &&
    typeof p.remind === 'boolean' &&
    (kind === 'stan' || (finiteNonNeg((p as VstanParams).lambdaIpw) && finiteNonNeg((p as VstanParams).lambdaIdf)));
  if (!ok) throw new SkiffError('BAD_INPUT', `invalid ${kind.toUpperCase()} params ${JSON.stringify(p)}`);
}

/**
 * STAN and VSTAN (session-rec `knn/stan.py`, `knn/vstan.py`), stateless per request so that any
 * prefix can be served. For a prefix of L known events:
 * 1. candidates = training sessions sharing an item with the prefix; keep the `sampleSize` most
 *    recent by last timestamp;
 * 2. sim(s, n) = Σ_{i ∈ set(s) ∩ set(n)} w1(i) / (‖w1 over set(s)‖ · sqrt|set(n)|), times the
 *    neighbour's recency exp(−age/λ2); the top `k` are kept (ties: the more recent session);
 * 3. every distinct item j of a neighbour gets sim · exp(−|p(j) − p*|/λ3), p(j) its last position in
 *    n and p* the last position in n of any prefix item; VSTAN also multiplies by the match decay
 *    exp((c* − L)/λ4) and 1 + idf(j)·λidf;
 * 4. scores are divided by their maximum; ties go to the more popular item and short lists are
 *    filled with the most popular items (score 0).
 *
 * The age of a neighbour is measured from the newest training session rather than from the
 * request's own time: exp(−(now − t_n)/λ2) = exp(−(now − t_ref)/λ2) · exp(−(t_ref − t_n)/λ2), and
 * the first factor is the same for every neighbour of a request, so it changes neither the
 * neighbours chosen nor the ranking — and a model served months later does not underflow to 0.
 *
 * Tables are CSR typed arrays (session → distinct items with their last positions, item → sessions
 * by recency) with scratch buffers reused across requests, as in V-SKNN.
 *
 * Artifact: `config.json` `{ kind, params }`, `items.json`, `sessions.json`.
 */
export class StanModel implements Recommender {
  readonly name: StanKind;
  readonly vocabulary: readonly string[];
  private readonly index: SessionIndex;
  private readonly invSqrtSize: Float64Array;
  /** exp(−age/λ2) of every session, age from the newest session. */
  private readonly recency: Float64Array;
  /** 1 + idf(j) · λidf (VSTAN with λidf > 0). */
  private readonly idfBoost: Float64Array | undefined;
  /** exp(−d/λ3) by distance d. */
  private readonly inhByDistance: Float64Array;
  private readonly scratch: KnnScratch;
  /** Per session, filled while collecting candidates: Σ w1 of the shared items, p*, c*. */
  private readonly sessDot: Float64Array;
  private readonly sessPStar: Int32Array;
  private readonly sessCStar: Int32Array;
  private sims = new Float64Array(1024);
  private selectBuf = new Float64Array(1024);
  private ipwAt = new Float64Array(64);

  constructor(
    readonly kind: StanKind,
    readonly ranked: RankedItems,
    /** Item indices per session in click order, most recent session first. */
    sessions: ReadonlyArray<ArrayLike<number>>,
    readonly lastTimes: Float64Array,
    readonly params: StanParams | VstanParams,
  ) {
    checkParams(kind, params);
    this.name = kind;
    this.vocabulary = ranked.items;
    const n = ranked.size;
    const S = sessions.length;
    if (lastTimes.length !== S)
      throw new SkiffError('ARTIFACT_CORRUPTED', `${lastTimes.length} session times for ${S} sessions`);
    const index = (this.index = new SessionIndex(sessions, n));
    const { seqOff, seqItems, setOff } = index;
    this.invSqrtSize = new Float64Array(S);
    for (let s = 0; s < S; s++) this.invSqrtSize[s] = 1 / Math.sqrt(Math.max(1, setOff[s + 1]! - setOff[s]!));
    let newest = -Infinity;
    for (const t of lastTimes) {
      if (!Number.isFinite(t)) throw new SkiffError('ARTIFACT_CORRUPTED', `session time ${t} is not a number`);
      if (t > newest) newest = t;
    }
    this.recency = Float64Array.from(lastTimes, (t) =>
      params.lambdaSnh > 0 ? Math.exp(-(newest - t) / (params.lambdaSnh * DAY_SECONDS)) : 1,
    );
    let maxLen = 1;
    for (let s = 0; s < S; s++) maxLen = Math.max(maxLen, seqOff[s + 1]! - seqOff[s]!);
    this.inhByDistance = Float64Array.from({ length: maxLen + 1 }, (_, d) =>
      params.lambdaInh > 0 ? Math.exp(-d / params.lambdaInh) : 1,
    );
    const idfWeight = kind === 'vstan' ? (params as VstanParams).lambdaIdf : 0;
    if (idfWeight > 0) {
      // #events of j over #sessions, as session-rec counts them (repeats included).
      const events = new Int32Array(n);
      for (const it of seqItems) events[it]!++;
      this.idfBoost = Float64Array.from(events, (c) => (c > 0 ? 1 + Math.log(S / c) * idfWeight : 1));
    }
    this.scratch = new KnnScratch(n, S);
    this.sessDot = new Float64Array(S);
    this.sessPStar = new Int32Array(S);
    this.sessCStar = new Int32Array(S);
  }

  get sessionCount(): number {
    return this.index.sessionCount;
  }

  private grow(need: number): void {
    if (this.scratch.grow(need)) this.sims = new Float64Array(this.scratch.cand.length);
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const p = this.params;
    const { ranked, sessDot, sessPStar, sessCStar, invSqrtSize, recency, idfBoost, inhByDistance, scratch } = this;
    const { setOff, setItems, setLast, itemOff, itemSess, itemSessPos } = this.index;
    // Position weights of the distinct prefix items (a repeat keeps its latest position).
    const prefix = scratch.begin(ranked, history, k, (c, L) => (p.lambdaSpw > 0 ? Math.exp((c - L) / p.lambdaSpw) : 1));
    const { posW, lastPos, sessStamp, itemStamp, score, touched, gen } = scratch;
    const { distinct } = prefix;
    const L = prefix.ids.length;
    if (L === 0) return scratch.top.toList(ranked, k, 1, () => false, exclude);
    let q = 0;
    for (const id of distinct) q += posW[id]! * posW[id]!;
    const invNorm = q > 0 ? 1 / Math.sqrt(q) : 0;
    // 1. Candidates: the sampleSize most recent sessions of the union. A session among the most
    // recent sampleSize of the union is among the most recent sampleSize of each of its items' lists,
    // so walking those lists also completes, for every kept candidate, the sum of the shared items'
    // weights, p* (last position in n of a prefix item) and c* (latest prefix position whose item is
    // in n) — no pass over the candidates' own items is needed.
    const sample = p.sampleSize > 0 ? p.sampleSize : Number.MAX_SAFE_INTEGER;
    let nc = 0;
    for (const id of distinct) {
      const w = posW[id]!;
      const cp = lastPos[id]!;
      const end = Math.min(itemOff[id + 1]!, itemOff[id]! + sample);
      this.grow(nc + end - itemOff[id]!);
      for (let j = itemOff[id]!; j < end; j++) {
        const s = itemSess[j]!;
        const pos = itemSessPos[j]!;
        if (sessStamp[s] !== gen) {
          sessStamp[s] = gen;
          scratch.cand[nc++] = s;
          sessDot[s] = w;
          sessPStar[s] = pos;
          sessCStar[s] = cp;
        } else {
          sessDot[s] = sessDot[s]! + w;
          if (pos > sessPStar[s]!) sessPStar[s] = pos;
          if (cp > sessCStar[s]!) sessCStar[s] = cp;
        }
      }
    }
    // Candidate order only matters for the sample cut (ties at the k-th similarity go by session
    // index below), so the sort is skipped when every candidate is kept.
    const cand = nc > sample ? scratch.cand.subarray(0, nc).sort() : scratch.cand;
    if (nc > sample) nc = sample;
    // 2. Recency-weighted similarities.
    const { sims } = this;
    let positive = 0;
    for (let c = 0; c < nc; c++) {
      const s = cand[c]!;
      const sim = sessDot[s]! * invNorm * invSqrtSize[s]! * recency[s]!;
      sims[c] = sim;
      if (sim > 0) positive++;
    }
    // Top k by similarity: the k-th largest by selection (linear, no sort); of the candidates tied
    // at it, the most recent sessions (lowest index) are kept.
    let threshold = 0;
    let lastTied = Number.MAX_SAFE_INTEGER;
    if (positive > p.k) {
      if (this.selectBuf.length < nc) this.selectBuf = new Float64Array(scratch.cand.length);
      const buf = this.selectBuf;
      buf.set(sims.subarray(0, nc));
      threshold = kthLargest(buf, nc, p.k);
      let above = 0;
      const tied: number[] = [];
      for (let c = 0; c < nc; c++) {
        if (sims[c]! > threshold) above++;
        else if (sims[c] === threshold) tied.push(cand[c]!);
      }
      const keep = p.k - above;
      if (tied.length > keep) lastTied = tied.sort((a, b) => a - b)[keep - 1]!;
    }
    // 3. Scores (zero-similarity neighbours add nothing). VSTAN's match decay exp((c* − L)/λ4) by c*.
    const ipw = this.kind === 'vstan' ? (p as VstanParams).lambdaIpw : 0;
    const ipwAt = this.ipwAt.length > L ? this.ipwAt : (this.ipwAt = new Float64Array(2 * L + 1));
    for (let c = 1; c <= L; c++) ipwAt[c] = ipw > 0 ? Math.exp((c - L) / ipw) : 1;
    const remind = p.remind;
    let nt = 0;
    for (let c = 0; c < nc; c++) {
      const sim = sims[c]!;
      if (!(sim > 0) || sim < threshold) continue;
      if (sim === threshold && cand[c]! > lastTied) continue;
      const s = cand[c]!;
      const contrib = sim * ipwAt[sessCStar[s]!]!;
      const ps = sessPStar[s]!;
      for (let j = setOff[s]!; j < setOff[s + 1]!; j++) {
        const it = setItems[j]!;
        if (!remind && lastPos[it]! > 0) continue;
        if (itemStamp[it] !== gen) {
          itemStamp[it] = gen;
          score[it] = 0;
          touched[nt++] = it;
        }
        const d = setLast[j]! - ps;
        score[it] = score[it]! + contrib * inhByDistance[d < 0 ? -d : d]!;
      }
    }
    // 4. Ranking.
    return scratch.finish(ranked, k, nt, remind, exclude, prefix, idfBoost);
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map((h) => this.recommend(h, k));
  }

  async save(dir: string): Promise<string[]> {
    return saveKnnArtifact(dir, { kind: this.kind, params: this.params }, this.ranked, this.index, this.lastTimes);
  }
}

export interface TrainStanOptions {
  /**
   * Time of the last event of every training session in seconds (same order as `train`): the
   * candidates' recency and STAN's neighbour-age weight. Without it the array order stands for
   * time, one second apart, which keeps the most-recent sampling but makes the age weight ≈ 1.
   */
  lastTimes?: readonly number[];
}

function defaultsOf(kind: StanKind): StanParams | VstanParams {
  return kind === 'stan' ? DEFAULT_STAN_PARAMS : DEFAULT_VSTAN_PARAMS;
}

/** Keeps only the params of `kind` (a VSTAN-only key on STAN would be silently ignored otherwise). */
function paramsOf(kind: StanKind, given: Partial<VstanParams>): StanParams | VstanParams {
  const base = defaultsOf(kind);
  const unknown = Object.keys(given).filter((key) => !(key in base));
  if (unknown.length) throw new SkiffError('BAD_INPUT', `unknown ${kind.toUpperCase()} params: ${unknown.join(', ')}`);
  return { ...base, ...given };
}

export function trainStan(
  kind: StanKind,
  train: readonly (readonly string[])[],
  params: Partial<VstanParams> = {},
  options: TrainStanOptions = {},
): StanModel {
  const p = paramsOf(kind, params);
  checkParams(kind, p);
  const { lastTimes } = options;
  if (lastTimes?.some((t) => !Number.isFinite(t)))
    throw new SkiffError('BAD_INPUT', 'lastTimes must be finite numbers (seconds)');
  const ranked = RankedItems.fromSessions(train);
  const { order, times } = recencyOrder(train, lastTimes, (s) => s.length > 0);
  const sessions = order.map((i) => train[i]!.map((it) => ranked.id(it)));
  return new StanModel(kind, ranked, sessions, times, p);
}

export async function loadStan(dir: string, kind: StanKind): Promise<StanModel> {
  const { config, ranked, sessions, lastTimes } = await loadKnnArtifact<Partial<VstanParams>>(dir);
  let params: StanParams | VstanParams;
  try {
    params = paramsOf(kind, config.params ?? {});
    checkParams(kind, params);
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `config.json in ${dir}: ${(e as Error).message}`);
  }
  return new StanModel(kind, ranked, sessions, lastTimes, params);
}
