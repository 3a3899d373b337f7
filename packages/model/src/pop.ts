import type { Recommender, ScoredItem } from '@skiff/core';
import { writeFilesAtomic } from '@skiff/node-io';
import { readArtifactJson, type ArtifactConfig } from './artifact.js';
import { RankedItems } from './ranked-items.js';

/**
 * POP (session-rec `pop.py`): items ranked by their number of occurrences in the training data;
 * the same list for every prefix. Score = count / max count (same order as supp/(1+supp)).
 * Artifact: `config.json` `{ kind: 'pop', params: {} }` and `items.json` (`[[item, count], …]`).
 */
export class PopModel implements Recommender {
  readonly name = 'pop';
  readonly kind = 'pop' as const;
  readonly vocabulary: readonly string[];
  private readonly list: ScoredItem[];

  constructor(readonly ranked: RankedItems) {
    this.vocabulary = ranked.items;
    const max = ranked.counts[0] ?? 1;
    this.list = ranked.items.map((itemId, i) => ({ itemId, score: ranked.counts[i]! / max }));
  }

  private top(k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    if (!exclude || exclude.size === 0) return this.list.slice(0, k);
    const out: ScoredItem[] = [];
    for (const r of this.list) {
      if (out.length >= k) break;
      if (!exclude.has(r.itemId)) out.push(r);
    }
    return out;
  }

  recommend(_history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    return this.top(k, exclude);
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map(() => this.top(k));
  }

  async save(dir: string): Promise<string[]> {
    const config: ArtifactConfig<Record<string, never>> = { kind: 'pop', params: {} };
    return writeFilesAtomic(dir, [
      ['items.json', JSON.stringify(this.ranked.toJSON())],
      ['config.json', JSON.stringify(config, null, 2)],
    ]);
  }
}

export function createPopModel(train: readonly (readonly string[])[]): PopModel {
  return new PopModel(RankedItems.fromSessions(train));
}

export async function loadPop(dir: string): Promise<PopModel> {
  return new PopModel(new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json')));
}
