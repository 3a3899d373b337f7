import type { ScoredItem } from '@skiff/core';
import { SkiffError } from '@skiff/core';
import { itemCounts } from './vocabulary.js';

/**
 * The training items ranked by popularity (count descending, ties by id), with dense indices:
 * index 0 is the most popular item. The baselines index their tables with it, break score ties
 * towards the more popular item and fill short lists with the most popular items (score 0).
 * Serialised as `items.json`: `[[itemId, count], …]` in that order.
 */
export class RankedItems {
  readonly items: readonly string[];
  readonly counts: Int32Array;
  private readonly index: Map<string, number>;

  constructor(pairs: ReadonlyArray<readonly [string, number]>) {
    this.items = pairs.map(([i]) => i);
    this.counts = Int32Array.from(pairs, ([, c]) => c);
    this.index = new Map(this.items.map((it, i) => [it, i]));
    for (let i = 1; i < this.counts.length; i++) {
      if (this.counts[i]! > this.counts[i - 1]!)
        throw new SkiffError('ARTIFACT_CORRUPTED', 'items.json is not sorted by count');
    }
  }

  static fromSessions(sessions: readonly (readonly string[])[]): RankedItems {
    return new RankedItems(
      [...itemCounts(sessions).entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    );
  }

  get size(): number {
    return this.items.length;
  }

  /** -1 for unknown items. */
  id(item: string): number {
    return this.index.get(item) ?? -1;
  }

  item(id: number): string {
    return this.items[id]!;
  }

  toJSON(): Array<[string, number]> {
    return this.items.map((it, i) => [it, this.counts[i]!]);
  }
}

/**
 * Keeps the best `k` (score desc, index asc) of a stream of (index, score) pairs with insertion
 * into a small sorted buffer: O(n + inserts·k), no allocation per pushed item.
 */
export class TopK {
  private ids: Int32Array;
  private scores: Float64Array;
  size = 0;
  private k = 0;

  constructor(capacity = 64) {
    this.ids = new Int32Array(capacity);
    this.scores = new Float64Array(capacity);
  }

  reset(k: number): void {
    if (k > this.ids.length) {
      this.ids = new Int32Array(k);
      this.scores = new Float64Array(k);
    }
    this.k = k;
    this.size = 0;
  }

  push(id: number, score: number): void {
    const { ids, scores } = this;
    let n = this.size;
    if (n === this.k) {
      const ls = scores[n - 1]!;
      if (score < ls || (score === ls && id > ids[n - 1]!)) return;
      n--;
    }
    let j = n;
    while (j > 0 && (scores[j - 1]! < score || (scores[j - 1] === score && ids[j - 1]! > id))) {
      ids[j] = ids[j - 1]!;
      scores[j] = scores[j - 1]!;
      j--;
    }
    ids[j] = id;
    scores[j] = score;
    this.size = n + 1;
  }

  /**
   * The kept items as ScoredItems with scores divided by `norm`, then (when fewer than k were
   * kept) the most popular items not already listed and not excluded, with score 0.
   */
  toList(
    items: RankedItems,
    k: number,
    norm: number,
    listed: (id: number) => boolean,
    exclude?: ReadonlySet<string>,
  ): ScoredItem[] {
    const out: ScoredItem[] = [];
    const inv = norm > 0 ? 1 / norm : 1;
    for (let j = 0; j < this.size; j++) out.push({ itemId: items.item(this.ids[j]!), score: this.scores[j]! * inv });
    for (let id = 0; out.length < k && id < items.size; id++) {
      if (listed(id)) continue;
      const it = items.item(id);
      if (!exclude?.has(it)) out.push({ itemId: it, score: 0 });
    }
    return out;
  }
}
