import { SkiffError, type Recommender, type ScoredItem } from '@skiff/core';
import { readArtifactJson, writeArtifactFiles, type ArtifactConfig } from './artifact.js';
import { RankedItems, TopK } from './ranked-items.js';

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

/** `sessions.json`: item indices per training session in click order (repeats kept), most recent session first, with its last timestamp in seconds. */
interface StanSessionsJson {
  lastTimes: number[];
  sessions: number[][];
}

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
  /** Click sequences (repeats kept), CSR, most recent session first: what the artifact stores. */
  private readonly seqOff: Int32Array;
  private readonly seqItems: Int32Array;
  /** Distinct items of each session with the 1-based position of their last occurrence. */
  private readonly setOff: Int32Array;
  private readonly setItems: Int32Array;
  private readonly setLast: Int32Array;
  private readonly invSqrtSize: Float64Array;
  private readonly itemOff: Int32Array;
  private readonly itemSess: Int32Array;
  /** Aligned with itemSess: the item's last position in that session. */
  private readonly itemSessPos: Int32Array;
  /** exp(−age/λ2) of every session, age from the newest session. */
  private readonly recency: Float64Array;
  /** 1 + idf(j) · λidf (VSTAN with λidf > 0). */
  private readonly idfBoost: Float64Array | undefined;
  /** exp(−d/λ3) by distance d. */
  private readonly inhByDistance: Float64Array;
  // Scratch space reused by every request (JS is single-threaded; recommend is synchronous).
  private readonly posW: Float64Array;
  private readonly lastPos: Int32Array;
  private readonly sessStamp: Int32Array;
  /** Per session, filled while collecting candidates: Σ w1 of the shared items, p*, c*. */
  private readonly sessDot: Float64Array;
  private readonly sessPStar: Int32Array;
  private readonly sessCStar: Int32Array;
  private readonly itemStamp: Int32Array;
  private readonly score: Float64Array;
  private readonly touched: Int32Array;
  private cand = new Int32Array(1024);
  private sims = new Float64Array(1024);
  private selectBuf = new Float64Array(1024);
  private ipwAt = new Float64Array(64);
  private gen = 0;
  private readonly top = new TopK();

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
    this.seqOff = new Int32Array(S + 1);
    let total = 0;
    sessions.forEach((s, i) => {
      total += s.length;
      this.seqOff[i + 1] = total;
    });
    this.seqItems = new Int32Array(total);
    sessions.forEach((s, i) => {
      for (let j = 0; j < s.length; j++) {
        const it = s[j]!;
        if (!(Number.isInteger(it) && it >= 0 && it < n))
          throw new SkiffError('ARTIFACT_CORRUPTED', `session ${i} refers to unknown item index ${it}`);
        this.seqItems[this.seqOff[i]! + j] = it;
      }
    });
    // Distinct items with their last position, from the sequences.
    const seen = new Int32Array(n).fill(-1);
    const setOff = new Int32Array(S + 1);
    const setItems: number[] = [];
    const setLast: number[] = [];
    const perItem = new Int32Array(n);
    for (let s = 0; s < S; s++) {
      const start = setItems.length;
      for (let j = this.seqOff[s]!; j < this.seqOff[s + 1]!; j++) {
        const it = this.seqItems[j]!;
        const pos = j - this.seqOff[s]! + 1;
        if (seen[it]! >= start) {
          setLast[seen[it]!] = pos;
        } else {
          seen[it] = setItems.length;
          setItems.push(it);
          setLast.push(pos);
          perItem[it]!++;
        }
      }
      setOff[s + 1] = setItems.length;
    }
    this.setOff = setOff;
    this.setItems = Int32Array.from(setItems);
    this.setLast = Int32Array.from(setLast);
    this.invSqrtSize = new Float64Array(S);
    for (let s = 0; s < S; s++) this.invSqrtSize[s] = 1 / Math.sqrt(Math.max(1, setOff[s + 1]! - setOff[s]!));
    this.itemOff = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.itemOff[i + 1] = this.itemOff[i]! + perItem[i]!;
    this.itemSess = new Int32Array(this.setItems.length);
    this.itemSessPos = new Int32Array(this.setItems.length);
    const fill = this.itemOff.slice(0, n);
    // Sessions in ascending index = most recent first, so every item's list is sorted by recency.
    for (let s = 0; s < S; s++) {
      for (let j = setOff[s]!; j < setOff[s + 1]!; j++) {
        const at = fill[this.setItems[j]!]!++;
        this.itemSess[at] = s;
        this.itemSessPos[at] = this.setLast[j]!;
      }
    }
    let newest = -Infinity;
    for (const t of lastTimes) {
      if (!Number.isFinite(t)) throw new SkiffError('ARTIFACT_CORRUPTED', `session time ${t} is not a number`);
      if (t > newest) newest = t;
    }
    this.recency = Float64Array.from(lastTimes, (t) =>
      params.lambdaSnh > 0 ? Math.exp(-(newest - t) / (params.lambdaSnh * DAY_SECONDS)) : 1,
    );
    let maxLen = 1;
    for (let s = 0; s < S; s++) maxLen = Math.max(maxLen, this.seqOff[s + 1]! - this.seqOff[s]!);
    this.inhByDistance = Float64Array.from({ length: maxLen + 1 }, (_, d) =>
      params.lambdaInh > 0 ? Math.exp(-d / params.lambdaInh) : 1,
    );
    const idfWeight = kind === 'vstan' ? (params as VstanParams).lambdaIdf : 0;
    if (idfWeight > 0) {
      // #events of j over #sessions, as session-rec counts them (repeats included).
      const events = new Int32Array(n);
      for (const it of this.seqItems) events[it]!++;
      this.idfBoost = Float64Array.from(events, (c) => (c > 0 ? 1 + Math.log(S / c) * idfWeight : 1));
    }
    this.posW = new Float64Array(n);
    this.lastPos = new Int32Array(n);
    this.itemStamp = new Int32Array(n);
    this.score = new Float64Array(n);
    this.touched = new Int32Array(n);
    this.sessStamp = new Int32Array(S);
    this.sessDot = new Float64Array(S);
    this.sessPStar = new Int32Array(S);
    this.sessCStar = new Int32Array(S);
  }

  get sessionCount(): number {
    return this.seqOff.length - 1;
  }

  private grow(need: number): void {
    if (need <= this.cand.length) return;
    let size = this.cand.length;
    while (size < need) size *= 2;
    const c = new Int32Array(size);
    c.set(this.cand);
    this.cand = c;
    this.sims = new Float64Array(size);
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const p = this.params;
    const {
      ranked,
      posW,
      lastPos,
      sessStamp,
      sessDot,
      sessPStar,
      sessCStar,
      itemStamp,
      score,
      touched,
      setOff,
      setItems,
      setLast,
      invSqrtSize,
      itemOff,
      itemSess,
      itemSessPos,
      recency,
      idfBoost,
      inhByDistance,
    } = this;
    if (++this.gen > 0x7ffffff0) {
      this.gen = 1;
      sessStamp.fill(0);
      itemStamp.fill(0);
    }
    const gen = this.gen;
    const ids: number[] = [];
    for (const h of history) {
      const id = ranked.id(h);
      if (id >= 0) ids.push(id);
    }
    const L = ids.length;
    this.top.reset(k);
    if (L === 0) return this.top.toList(ranked, k, 1, () => false, exclude);
    // Position weights of the distinct prefix items (a repeat keeps its latest position).
    const distinct: number[] = [];
    for (let c = 1; c <= L; c++) {
      const id = ids[c - 1]!;
      if (lastPos[id] === 0) distinct.push(id);
      posW[id] = p.lambdaSpw > 0 ? Math.exp((c - L) / p.lambdaSpw) : 1;
      lastPos[id] = c;
    }
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
          this.cand[nc++] = s;
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
    const cand = nc > sample ? this.cand.subarray(0, nc).sort() : this.cand;
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
      if (this.selectBuf.length < nc) this.selectBuf = new Float64Array(this.cand.length);
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
    let max = 0;
    for (let t = 0; t < nt; t++) {
      const it = touched[t]!;
      const v = idfBoost ? score[it]! * idfBoost[it]! : score[it]!;
      score[it] = v;
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
    const config: ArtifactConfig<StanParams | VstanParams> = { kind: this.kind, params: this.params };
    const sessions: StanSessionsJson = { lastTimes: Array.from(this.lastTimes), sessions: [] };
    for (let s = 0; s < this.sessionCount; s++)
      sessions.sessions.push(Array.from(this.seqItems.subarray(this.seqOff[s]!, this.seqOff[s + 1]!)));
    return writeArtifactFiles(dir, [
      ['items.json', JSON.stringify(this.ranked.toJSON())],
      ['sessions.json', JSON.stringify(sessions)],
      ['config.json', JSON.stringify(config, null, 2)],
    ]);
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
  if (lastTimes && lastTimes.length !== train.length)
    throw new SkiffError('BAD_INPUT', `lastTimes has ${lastTimes.length} entries for ${train.length} sessions`);
  if (lastTimes?.some((t) => !Number.isFinite(t)))
    throw new SkiffError('BAD_INPUT', 'lastTimes must be finite numbers (seconds)');
  const ranked = RankedItems.fromSessions(train);
  const time = (i: number) => (lastTimes ? lastTimes[i]! : i);
  // Most recent first; equal times: the later session in the input first.
  const order = train.map((_, i) => i).filter((i) => train[i]!.length > 0);
  order.sort((a, b) => time(b) - time(a) || b - a);
  const sessions = order.map((i) => train[i]!.map((it) => ranked.id(it)));
  return new StanModel(kind, ranked, sessions, Float64Array.from(order, time), p);
}

export async function loadStan(dir: string, kind: StanKind): Promise<StanModel> {
  const config = await readArtifactJson<ArtifactConfig<Partial<VstanParams>>>(dir, 'config.json');
  const ranked = new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json'));
  const s = await readArtifactJson<StanSessionsJson>(dir, 'sessions.json');
  if (
    !Array.isArray(s.sessions) ||
    !Array.isArray(s.lastTimes) ||
    s.lastTimes.length !== s.sessions.length ||
    !s.sessions.every(Array.isArray)
  ) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `sessions.json in ${dir} is malformed`);
  }
  let params: StanParams | VstanParams;
  try {
    params = paramsOf(kind, config.params ?? {});
    checkParams(kind, params);
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `config.json in ${dir}: ${(e as Error).message}`);
  }
  return new StanModel(kind, ranked, s.sessions, Float64Array.from(s.lastTimes), params);
}
