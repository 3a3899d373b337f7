/**
 * Evidently 0.7 drift statistical tests (legacy `stattests` package semantics), as pure functions
 * over already-cleaned samples (no null / NaN / ±Infinity).
 */
import { ks2samp } from './ks.js';
import { sortedFloat64 } from './sort.js';
import { chi2Sf, normCdf } from './special.js';

export type Value = number | string;
export type ColumnKind = 'num' | 'cat';
/** A cleaned sample: numeric columns arrive as Float64Array (no boxing, fast sorts), others as arrays. */
export type Sample = readonly Value[] | Float64Array;

// ------------------------------------------------------------------------------------------ helpers

/** numpy's pairwise summation of float64 arrays (`np.sum` / `add.reduce`, first element carried). */
export function npSum(a: ArrayLike<number>): number {
  const n = a.length;
  if (n === 0) return 0;
  return (a[0] as number) + pairwise(a, 1, n - 1);
}

function pairwise(a: ArrayLike<number>, off: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i] as number;
    return res;
  }
  if (n <= 128) {
    const r = new Array<number>(8);
    for (let j = 0; j < 8; j++) r[j] = a[off + j] as number;
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = (r[j] as number) + (a[off + i + j] as number);
    const [r0, r1, r2, r3, r4, r5, r6, r7] = r as [number, number, number, number, number, number, number, number];
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[off + i] as number;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, off, n2) + pairwise(a, off + n2, n - n2);
}

/** Population standard deviation (ddof = 0), computed like numpy. */
export function npStd(x: ArrayLike<number>): number {
  const n = x.length;
  const mean = npSum(x) / n;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - mean;
    sq[i] = d * d;
  }
  return Math.sqrt(npSum(sq) / n);
}

/** Python-like ordering: numbers numerically, strings by code point, numbers before strings. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const na = ia.next();
    const nb = ib.next();
    if (na.done) return nb.done ? 0 : -1;
    if (nb.done) return 1;
    const ca = (na.value as string).codePointAt(0) as number;
    const cb = (nb.value as string).codePointAt(0) as number;
    if (ca !== cb) return ca - cb;
  }
}

export function valueCounts(x: Sample): Map<Value, number> {
  const m = new Map<Value, number>();
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as Value;
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return m;
}

/** Value counts of both samples and their union of keys in first-seen order (reference, then current). */
export function countsAndKeys(r: Sample, c: Sample): { rc: Map<Value, number>; cc: Map<Value, number>; keys: Value[] } {
  const rc = valueCounts(r);
  const cc = valueCounts(c);
  const keys = [...rc.keys()];
  for (const k of cc.keys()) if (!rc.has(k)) keys.push(k);
  return { rc, cc, keys };
}

/** Union of distinct values of reference then current (first-seen order). */
export function unionKeys(r: Sample, c: Sample): Value[] {
  const s = new Set<Value>();
  for (const v of r) s.add(v);
  for (const v of c) s.add(v);
  return [...s];
}

export function nUnique(x: Sample): number {
  return new Set<Value>(x).size;
}

/** Distinct values over several arrays, counting stops once it exceeds `limit` (returns limit + 1). */
export function nUniqueUpTo(arrays: ReadonlyArray<Sample>, limit: number): number {
  const s = new Set<Value>();
  for (const a of arrays)
    for (let i = 0; i < a.length; i++) {
      s.add(a[i] as Value);
      if (s.size > limit) return limit + 1;
    }
  return s.size;
}

function asNumbers(x: Sample, what: string): Float64Array {
  if (x instanceof Float64Array) return x;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number') throw new TypeError(`${what}: non-numeric value ${JSON.stringify(v)}`);
    out[i] = v;
  }
  return out;
}

/** Sturges histogram bin edges on pooled data, as numpy.histogram_bin_edges(bins='sturges'). */
export function sturgesEdges(pooled: ArrayLike<number>, ...more: Array<ArrayLike<number>>): number[] {
  let mn = Infinity;
  let mx = -Infinity;
  let total = 0;
  for (const arr of [pooled, ...more]) {
    total += arr.length;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i] as number;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
  }
  let first = mn;
  let last = mx;
  const ptp = mx - mn;
  const width = ptp / (Math.log2(total) + 1);
  let nBins = 1;
  if (width !== 0) nBins = Math.ceil((last - first) / width);
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const step = (last - first) / nBins;
  const edges: number[] = [];
  for (let i = 0; i <= nBins; i++) edges.push(i * step + first);
  edges[nBins] = last;
  return edges;
}

/** np.histogram counts with explicit edges: [e_i, e_{i+1}), last bin closed. */
export function histogramCounts(x: ArrayLike<number>, edges: readonly number[]): number[] {
  const nb = edges.length - 1;
  const counts = new Array<number>(nb).fill(0);
  const first = edges[0] as number;
  const last = edges[nb] as number;
  for (let j = 0; j < x.length; j++) {
    const v = x[j] as number;
    if (v < first || v > last) continue;
    let lo = 0;
    let hi = nb; // find largest i with edges[i] <= v
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] as number) <= v) lo = mid;
      else hi = mid;
    }
    const i = v === last ? nb - 1 : lo;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/** Evidently `get_binned_data`: reference and current percents, optionally with zero fill. */
export function binnedPercents(
  r: Sample,
  c: Sample,
  kind: ColumnKind,
  fillZeroes: boolean,
): { ref: number[]; cur: number[] } {
  let ref: number[];
  let cur: number[];
  if (kind === 'num' && nUniqueUpTo([r], 20) > 20) {
    const rn = asNumbers(r, 'binning');
    const cn = asNumbers(c, 'binning');
    const edges = sturgesEdges(rn, cn);
    ref = histogramCounts(rn, edges).map((k) => k / rn.length);
    cur = histogramCounts(cn, edges).map((k) => k / cn.length);
  } else {
    const { rc, cc, keys } = countsAndKeys(r, c);
    ref = keys.map((k) => (rc.get(k) ?? 0) / r.length);
    cur = keys.map((k) => (cc.get(k) ?? 0) / c.length);
  }
  if (fillZeroes) {
    ref = fillZeros(ref);
    cur = fillZeros(cur);
  }
  return { ref, cur };
}

function fillZeros(p: number[]): number[] {
  let m = Infinity;
  for (const v of p) if (v !== 0 && v < m) m = v;
  const fill = m <= 0.0001 ? m / 10 ** 6 : 0.0001;
  return p.map((v) => (v === 0 ? fill : v));
}

/** scipy.special.rel_entr */
function relEntr(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

// --------------------------------------------------------------------------------------- the tests

/** KS p-value (scipy ks_2samp, method='auto'). */
export function ksTest(r: Sample, c: Sample): number {
  return ks2samp(asNumbers(r, 'ks'), asNumbers(c, 'ks')).pvalue;
}

/** Chi-square goodness of fit of current counts against reference proportions scaled to n_c. */
export function chiSquareTest(r: Sample, c: Sample): number {
  const { rc, cc, keys } = countsAndKeys(r, c);
  const kNorm = c.length / r.length;
  const terms = keys.map((k) => {
    const e = (rc.get(k) ?? 0) * kNorm;
    const o = cc.get(k) ?? 0;
    return ((o - e) * (o - e)) / e;
  });
  const stat = npSum(terms);
  return chi2Sf(stat, keys.length - 1);
}

/** Two-proportion Z-test p-value (first sorted value encoded as 0, everything else as 1). */
export function zTest(r: Sample, c: Sample): number {
  const ru = new Set<Value>(r);
  const cu = new Set<Value>(c);
  if (ru.size === 1 && cu.size === 1 && [...ru][0] === [...cu][0]) return 1;
  const keys = unionKeys(r, c).sort(compareValues);
  const k0 = keys[0];
  const ones = (x: Sample): number => {
    let s = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== k0) s++;
    return s;
  };
  const n1 = r.length;
  const n2 = c.length;
  const p1 = ones(r) / n1;
  const p2 = ones(c) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2));
  return 2 * (1 - normCdf(Math.abs(z)));
}

/**
 * scipy.stats.wasserstein_distance (1-D, unweighted): ∫|U(x) − V(x)| dx over the pooled sorted
 * values. One sort per sample, then a merge walk: between consecutive pooled values the CDFs are
 * the counts consumed so far (scipy's searchsorted 'right' at the left point; a zero-width step
 * adds nothing, so ties need no special care). Same terms as scipy, summed left to right.
 */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const us = sortedFloat64(u);
  const vs = sortedFloat64(v);
  const n = us.length;
  const m = vs.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < n || j < m) {
    const x = j >= m || (i < n && (us[i] as number) <= (vs[j] as number)) ? (us[i++] as number) : (vs[j++] as number);
    if (i === n && j === m) break;
    const next = j >= m || (i < n && (us[i] as number) <= (vs[j] as number)) ? (us[i] as number) : (vs[j] as number);
    const delta = next - x;
    if (delta !== 0) sum += Math.abs(i / n - j / m) * delta;
  }
  return sum;
}

/** Wasserstein distance normed by max(std_pop(reference), 0.001). */
export function wassersteinNormed(r: Sample, c: Sample): number {
  const rn = asNumbers(r, 'wasserstein');
  const cn = asNumbers(c, 'wasserstein');
  const norm = Math.max(npStd(rn), 0.001);
  return wassersteinDistance(rn, cn) / norm;
}

/** scipy.spatial.distance.jensenshannon(p, q) with natural log. */
export function jensenShannonDistance(p0: readonly number[], q0: readonly number[]): number {
  const ps = npSum(p0);
  const qs = npSum(q0);
  const p = p0.map((v) => v / ps);
  const q = q0.map((v) => v / qs);
  const m = p.map((v, i) => (v + (q[i] as number)) / 2.0);
  const left = npSum(p.map((v, i) => relEntr(v, m[i] as number)));
  const right = npSum(q.map((v, i) => relEntr(v, m[i] as number)));
  return Math.sqrt((left + right) / 2.0);
}

export function jensenShannonTest(r: Sample, c: Sample, kind: ColumnKind): number {
  const { ref, cur } = binnedPercents(r, c, kind, false);
  return jensenShannonDistance(ref, cur);
}

export function psiTest(r: Sample, c: Sample, kind: ColumnKind): number {
  const { ref, cur } = binnedPercents(r, c, kind, true);
  return npSum(ref.map((a, i) => (a - (cur[i] as number)) * Math.log(a / (cur[i] as number))));
}

/** scipy.stats.entropy(ref, cur): both renormalised to sum 1, then sum of rel_entr. */
export function klDivTest(r: Sample, c: Sample, kind: ColumnKind): number {
  const { ref, cur } = binnedPercents(r, c, kind, true);
  const rs = npSum(ref);
  const cs = npSum(cur);
  return npSum(ref.map((a, i) => relEntr(a / rs, (cur[i] as number) / cs)));
}

// ---------------------------------------------------------------------------------------- registry

export type Direction = 'le' | 'lt' | 'ge';

export interface StatTestDef {
  /** Registry name, e.g. 'ks'. */
  name: string;
  /** Display name as Evidently writes it into configs, e.g. 'K-S p_value'. */
  displayName: string;
  defaultThreshold: number;
  /** Drift when score `<=` / `<` / `>=` threshold. */
  direction: Direction;
  allowed: readonly ColumnKind[];
  compute: (r: Sample, c: Sample, kind: ColumnKind) => number;
}

export const STAT_TESTS: Readonly<Record<string, StatTestDef>> = {
  ks: {
    name: 'ks',
    displayName: 'K-S p_value',
    defaultThreshold: 0.05,
    direction: 'le',
    allowed: ['num'],
    compute: ksTest,
  },
  chisquare: {
    name: 'chisquare',
    displayName: 'chi-square p_value',
    defaultThreshold: 0.05,
    direction: 'lt',
    allowed: ['cat'],
    compute: chiSquareTest,
  },
  z: {
    name: 'z',
    displayName: 'Z-test p_value',
    defaultThreshold: 0.05,
    direction: 'lt',
    allowed: ['cat'],
    compute: zTest,
  },
  wasserstein: {
    name: 'wasserstein',
    displayName: 'Wasserstein distance (normed)',
    defaultThreshold: 0.1,
    direction: 'ge',
    allowed: ['num'],
    compute: wassersteinNormed,
  },
  jensenshannon: {
    name: 'jensenshannon',
    displayName: 'Jensen-Shannon distance',
    defaultThreshold: 0.1,
    direction: 'ge',
    allowed: ['cat', 'num'],
    compute: jensenShannonTest,
  },
  psi: {
    name: 'psi',
    displayName: 'PSI',
    defaultThreshold: 0.1,
    direction: 'ge',
    allowed: ['cat', 'num'],
    compute: psiTest,
  },
  kl_div: {
    name: 'kl_div',
    displayName: 'Kullback-Leibler divergence',
    defaultThreshold: 0.1,
    direction: 'ge',
    allowed: ['cat', 'num'],
    compute: klDivTest,
  },
};

/** Evidently `_get_default_stattest` for numerical / categorical columns (cleaned samples). */
export function defaultStatTest(r: Sample, c: Sample, kind: ColumnKind): StatTestDef {
  // Only the thresholds 2 and 5 matter, so counting stops at 6 distinct values.
  const nValues = nUniqueUpTo([r, c], 5);
  if (r.length <= 1000) {
    if (kind === 'num') {
      if (nValues <= 5) return nValues > 2 ? STAT_TESTS.chisquare! : STAT_TESTS.z!;
      return STAT_TESTS.ks!;
    }
    return nValues > 2 ? STAT_TESTS.chisquare! : STAT_TESTS.z!;
  }
  if (kind === 'num') return nValues <= 5 ? STAT_TESTS.jensenshannon! : STAT_TESTS.wasserstein!;
  return STAT_TESTS.jensenshannon!;
}

export function isDrifted(score: number, threshold: number, direction: Direction): boolean {
  if (direction === 'le') return score <= threshold;
  if (direction === 'lt') return score < threshold;
  return score >= threshold;
}
