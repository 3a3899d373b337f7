import { createRng, cumulative, type Rng } from './random.js';

export interface Item {
  /** `i00042` */
  id: string;
  /** `c07` */
  category: string;
  price: number;
}

export interface Catalogue {
  items: Item[];
  /** Category ids, `c00` … */
  categories: string[];
  /** A readable word per category, used for search queries (`shoes`, `lamps`, …). */
  categoryNames: string[];
  /** Category index of every item. */
  categoryOf: Int32Array;
  /** Item index by item id. */
  indexOf: Map<string, number>;
  /** Popularity weight per item (Zipf-like over a seeded permutation). */
  popularity: Float64Array;
  popularityCum: Float64Array;
  /**
   * Items that tend to follow each item: the item-to-item structure a first-order model can learn.
   * `successors[i][0]` is the next item of a fixed per-category browsing chain, the rest are
   * random (4 in 5 from the same category). Drawn with weights `successorWeights`, re-weighted by
   * the session's theme (see `sessionEvents`).
   */
  successors: number[][];
  successorWeights: number[];
  /** Item indices per category, for same-category jumps. */
  byCategory: number[][];
  /**
   * Theme of every item (`0 … themes − 1`): a style or price segment that cuts across categories.
   * A session keeps one theme, so what comes next depends on the whole session, not only on its
   * last item.
   */
  themeOf: Int32Array;
  themes: number;
  seed: number;
  zipfExponent: number;
}

export interface CreateCatalogueOptions {
  items?: number;
  categories?: number;
  seed: number;
  zipfExponent?: number;
  /** How many "next" items each item has (≥ 1). */
  successorsPerItem?: number;
  /** Share of non-chain successors drawn from the item's own category. */
  sameCategoryShare?: number;
  /** Number of themes (≥ 1) that cut across categories. */
  themes?: number;
}

const NOUNS = [
  'shoes',
  'lamps',
  'jackets',
  'mugs',
  'headphones',
  'backpacks',
  'watches',
  'chairs',
  'plants',
  'books',
  'toys',
  'bikes',
  'tents',
  'knives',
  'rugs',
  'phones',
  'cameras',
  'towels',
  'candles',
  'gloves',
  'scarves',
  'pans',
  'desks',
  'games',
];
const ADJECTIVES = ['cheap', 'red', 'kids', 'best', 'wireless', 'vintage', 'large', 'sale', 'eco', 'mini'];

export const DEFAULT_ZIPF_EXPONENT = 1.1;
export const DEFAULT_SUCCESSORS_PER_ITEM = 6;
export const DEFAULT_THEMES = 4;

/** Weights of `successors[i][k]`; sum to 1: the chain's next item first, then decreasing. */
function successorWeightsFor(k: number): number[] {
  if (k === 1) return [1];
  const raw = [0.35 * (k - 1), ...Array.from({ length: k - 1 }, (_, j) => 1 / (j + 1))];
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

function shuffle(rng: Rng, values: number[]): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** `word` for category c; suffixed beyond the built-in list. */
function categoryName(c: number): string {
  const base = NOUNS[c % NOUNS.length]!;
  return c < NOUNS.length ? base : `${base}-${Math.floor(c / NOUNS.length) + 1}`;
}

/** A search query a shopper of category c might type. */
export function queryFor(catalogue: Catalogue, category: number, rng: Rng): string {
  const name = catalogue.categoryNames[category] ?? 'gift';
  return rng.next() < 0.5 ? name : `${rng.choice(ADJECTIVES)} ${name}`;
}

/**
 * A seeded catalogue: items in categories (sizes vary), log-normal prices around a per-category
 * level, Zipf-like popularity over a seeded permutation, and for every item a short list of
 * successors that sessions tend to follow.
 */
export function createCatalogue(options: CreateCatalogueOptions): Catalogue {
  const {
    items: n = 2_000,
    categories: nc = 20,
    seed,
    zipfExponent = DEFAULT_ZIPF_EXPONENT,
    successorsPerItem = DEFAULT_SUCCESSORS_PER_ITEM,
    sameCategoryShare = 0.8,
    themes = DEFAULT_THEMES,
  } = options;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`items must be an integer ≥ 2 (got ${n})`);
  if (!Number.isInteger(nc) || nc < 1 || nc > n)
    throw new RangeError(`categories must be an integer in [1, items] (got ${nc})`);
  if (!Number.isInteger(successorsPerItem) || successorsPerItem < 1 || successorsPerItem >= n)
    throw new RangeError(`successorsPerItem must be in [1, items)`);
  if (!Number.isInteger(themes) || themes < 1)
    throw new RangeError(`themes must be a positive integer (got ${themes})`);
  const rng = createRng(seed, 0xca7);
  const categories = Array.from({ length: nc }, (_, c) => `c${String(c).padStart(2, '0')}`);
  const categoryNames = Array.from({ length: nc }, (_, c) => categoryName(c));
  // Category sizes vary (some departments are bigger); every category gets at least one item.
  const categoryCum = cumulative(Array.from({ length: nc }, () => rng.lognormal(0, 0.5)));
  const priceLevel = Array.from({ length: nc }, () => rng.uniform(2, 4.5));
  const byCategory: number[][] = categories.map(() => []);
  const categoryOf = new Int32Array(n);
  const items: Item[] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const c = i < nc ? i : rng.pick(categoryCum);
    categoryOf[i] = c;
    byCategory[c]!.push(i);
    const raw = rng.lognormal(priceLevel[c]!, 0.45);
    const item: Item = {
      id: `i${String(i).padStart(5, '0')}`,
      category: categories[c]!,
      price: Math.floor(raw) + 0.99,
    };
    items.push(item);
    indexOf.set(item.id, i);
  }
  const rankOf = shuffle(
    rng,
    Array.from({ length: n }, (_, i) => i),
  );
  const popularity = new Float64Array(n);
  for (let i = 0; i < n; i++) popularity[i] = 1 / Math.pow(rankOf[i]! + 1, zipfExponent);
  // A browsing chain per category: a random cyclic order of its items.
  const chainNext = new Int32Array(n).fill(-1);
  for (const members of byCategory) {
    if (members.length < 2) continue;
    const order = shuffle(rng, [...members]);
    for (let k = 0; k < order.length; k++) chainNext[order[k]!] = order[(k + 1) % order.length]!;
  }
  const successors: number[][] = [];
  for (let i = 0; i < n; i++) {
    const own = byCategory[categoryOf[i]!]!;
    const out: number[] = [];
    const first = chainNext[i]!;
    if (first >= 0) out.push(first);
    while (out.length < successorsPerItem) {
      const cand =
        own.length > successorsPerItem + 1 && rng.next() < sameCategoryShare ? own[rng.int(own.length)]! : rng.int(n);
      if (cand !== i && !out.includes(cand)) out.push(cand);
    }
    successors.push(out);
  }
  // Themes last, from their own stream, so that they do not move anything drawn above.
  const themeRng = createRng(seed, 0x7e3e);
  const themeOf = new Int32Array(n);
  for (let i = 0; i < n; i++) themeOf[i] = themeRng.int(themes);
  return {
    items,
    categories,
    categoryNames,
    categoryOf,
    indexOf,
    popularity,
    popularityCum: cumulative(popularity),
    successors,
    successorWeights: successorWeightsFor(successorsPerItem),
    byCategory,
    themeOf,
    themes,
    seed,
    zipfExponent,
  };
}
