import { createRng, cumulative, type Rng } from './random.js';

export interface Item {
  id: string;
  category: string;
  price: number;
}

export interface Catalogue {
  items: Item[];
  categories: string[];
  /** Popularity weight per item (Zipf-like over a seeded permutation). */
  popularity: Float64Array;
  popularityCum: Float64Array;
  /** Items that tend to follow each item (same category mostly): the item-to-item structure. */
  successors: number[][];
  /** Items per category, for same-category jumps. */
  byCategory: number[][];
  seed: number;
}

export interface CreateCatalogueOptions {
  items?: number;
  categories?: number;
  seed: number;
  zipfExponent?: number;
  /** How many "next" items each item has. */
  successorsPerItem?: number;
}

function shuffle(rng: Rng, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/**
 * A seeded catalogue: items in categories, Zipf-like popularity, and for every item a short
 * list of successors (4 in 5 from its own category) that sessions tend to follow.
 */
export function createCatalogue(options: CreateCatalogueOptions): Catalogue {
  const { items: n = 2_000, categories: nc = 20, seed, zipfExponent = 1.1, successorsPerItem = 3 } = options;
  const rng = createRng(seed * 7919 + 17);
  const categories = Array.from({ length: nc }, (_, c) => `c${String(c).padStart(2, '0')}`);
  const byCategory: number[][] = categories.map(() => []);
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    const c = rng.int(nc);
    byCategory[c]!.push(i);
    items.push({ id: `i${String(i).padStart(5, '0')}`, category: categories[c]!, price: Math.round(Math.exp(2.5 + rng.normal() * 0.8) * 100) / 100 });
  }
  const rankOf = shuffle(rng, n);
  const popularity = new Float64Array(n);
  for (let i = 0; i < n; i++) popularity[i] = 1 / Math.pow(rankOf[i]! + 1, zipfExponent);
  const successors: number[][] = items.map((it, i) => {
    const own = byCategory[categories.indexOf(it.category)]!;
    const out: number[] = [];
    while (out.length < successorsPerItem) {
      const cand = rng.next() < 0.8 && own.length > 1 ? own[rng.int(own.length)]! : rng.int(n);
      if (cand !== i && !out.includes(cand)) out.push(cand);
    }
    return out;
  });
  return { items, categories, popularity, popularityCum: cumulative(popularity), successors, byCategory, seed };
}
