/**
 * A small seeded PRNG (sfc32, seeded through a splitmix-style hash) and the draws the simulator
 * needs. Same seed (and stream) → same sequence, on every platform: only 32-bit integer maths.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** exp(mu + sigma · N(0, 1)). */
  lognormal(mu: number, sigma: number): number;
  /** Failures before the first success, success probability p in (0, 1]: mean (1 − p) / p. */
  geometric(p: number): number;
  /** Exponential with the given mean. */
  exponential(mean: number): number;
  /** Index drawn from a cumulative weight table (binary search). */
  pick(cumulative: Float64Array): number;
  /** A uniformly chosen element of a non-empty array. */
  choice<T>(values: readonly T[]): T;
}

/** Mixes a number (any finite double, typically an integer seed) and a stream id into 32 bits. */
export function hashSeed(seed: number, stream = 0): number {
  const lo = Math.trunc(seed) >>> 0;
  const hi = Math.trunc(seed / 4294967296) >>> 0;
  let h =
    Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi ^ 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(stream + 1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded generator; `stream` gives independent sequences from the same seed. */
export function createRng(seed: number, stream = 0): Rng {
  let a = hashSeed(seed, stream);
  let b = hashSeed(a, stream + 1);
  let c = hashSeed(b, stream + 2);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next(); // warm up so that close seeds diverge
  const positive = (): number => 1 - next(); // (0, 1]
  const normal = (): number => Math.sqrt(-2 * Math.log(positive())) * Math.cos(2 * Math.PI * next());
  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    int: (n) => Math.floor(next() * n),
    bernoulli: (p) => next() < p,
    normal,
    lognormal: (mu, sigma) => Math.exp(mu + sigma * normal()),
    geometric: (p) => (p >= 1 ? 0 : Math.floor(Math.log(positive()) / Math.log(1 - p))),
    exponential: (mean) => -Math.log(positive()) * mean,
    pick: (cum) => pickCumulative(cum, next()),
    choice: <T>(values: readonly T[]): T => {
      if (values.length === 0) throw new RangeError('choice() from an empty array');
      return values[Math.floor(next() * values.length)]!;
    },
  };
}

/** Running sums of `weights` (the table `Rng.pick` draws from). */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) out[i] = s += weights[i]!;
  return out;
}

/** The first index whose cumulative weight exceeds u · total. */
export function pickCumulative(cum: Float64Array, u: number): number {
  const x = u * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Walker/Vose alias table: O(1) draws from a fixed discrete distribution. */
export interface AliasTable {
  readonly size: number;
  sample(rng: Rng): number;
}

export function createAliasTable(weights: ArrayLike<number>): AliasTable {
  const n = weights.length;
  if (n === 0) throw new RangeError('alias table needs at least one weight');
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} is not a finite non-negative number`);
    total += w;
  }
  if (total <= 0) throw new RangeError('alias table needs a positive total weight');
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = new Float64Array(n);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) {
    scaled[i] = (weights[i]! * n) / total;
    (scaled[i]! < 1 ? small : large).push(i);
  }
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? small : large).push(l);
  }
  for (const i of large) prob[i] = 1;
  for (const i of small) prob[i] = 1; // only rounding leftovers
  return {
    size: n,
    sample(rng) {
      const x = rng.next() * n;
      const i = Math.floor(x);
      return x - i < prob[i]! ? i : alias[i]!;
    },
  };
}
