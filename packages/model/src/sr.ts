import { SkiffError, type Recommender, type ScoredItem } from '@skiff/core';
import { writeFilesAtomic } from '@skiff/node-io';
import { readArtifactJson, type ArtifactConfig } from './artifact.js';
import { RankedItems, TopK } from './ranked-items.js';

export type SrWeighting = 'div' | 'linear' | 'quadratic' | 'log' | 'same';

export interface SrParams {
  /** How many previous items of a position give it a rule (session-rec `steps`). */
  steps: number;
  /** Weight of the rule from the item i steps back: div 1/i, linear 1−0.1·i, quadratic 1/i², log 1/log10(i+1.7), same 1. */
  weighting: SrWeighting;
  /** Successors kept per item (session-rec `pruning`); 0 keeps all; a value in (0, 1) drops that fraction (keep n − ⌊n·pruning⌋). */
  pruning: number;
}

/** session-rec's defaults (RSC15 tuned steps 8; 10 is the default and the reference on the 100k sample). */
export const DEFAULT_SR_PARAMS: SrParams = { steps: 10, weighting: 'div', pruning: 20 };

function srWeight(w: SrWeighting, i: number): number {
  switch (w) {
    case 'div':
      return 1 / i;
    case 'linear':
      return i <= 100 ? 1 - 0.1 * i : 0;
    case 'quadratic':
      return 1 / (i * i);
    case 'log':
      return 1 / Math.log10(i + 1.7);
    case 'same':
      return 1;
  }
}

/** Per item: successor indices and weights, best first. */
interface RuleList {
  to: Int32Array;
  w: Float64Array;
}

/**
 * SR — sequential rules (Kamehkhosh, Jannach & Ludewig 2017; session-rec `sr.py`). Training: for
 * every position t of every session and each of the `steps` previous items p = s[t−i], add
 * w(i) to rule p → s[t]; keep the top `pruning` successors per item. Prediction uses only the
 * last (known) item of the prefix: its successors by rule weight, normalised by the maximum.
 * Repeated clicks give self-rules (i → i), as in session-rec. Ties go to the more popular item;
 * when fewer than k successors exist the list is filled with the most popular items (score 0).
 *
 * Artifact: `config.json` `{ kind: 'sr', params }`, `items.json`, `rules.json`
 * (`[[fromIndex, [[toIndex, weight], …]], …]`, indices into items.json).
 */
export class SrModel implements Recommender {
  readonly name = 'sr';
  readonly kind = 'sr' as const;
  readonly vocabulary: readonly string[];
  private readonly top = new TopK();

  constructor(
    readonly ranked: RankedItems,
    private readonly rules: ReadonlyArray<RuleList | undefined>,
    readonly params: SrParams,
  ) {
    this.vocabulary = ranked.items;
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    let last = -1;
    for (let j = history.length - 1; j >= 0 && last < 0; j--) last = this.ranked.id(history[j]!);
    const r = last >= 0 ? this.rules[last] : undefined;
    this.top.reset(k);
    if (!r) return this.top.toList(this.ranked, k, 1, () => false, exclude);
    for (let j = 0; j < r.to.length; j++) {
      if (exclude?.has(this.ranked.item(r.to[j]!))) continue;
      this.top.push(r.to[j]!, r.w[j]!);
    }
    const to = r.to;
    return this.top.toList(this.ranked, k, r.w[0] ?? 1, (id) => to.includes(id), exclude);
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map((h) => this.recommend(h, k));
  }

  /** Rules of an item, best first (for inspection and tests). */
  rulesOf(item: string): Array<[string, number]> {
    const r = this.rules[this.ranked.id(item)];
    return r ? Array.from(r.to, (t, j) => [this.ranked.item(t), r.w[j]!]) : [];
  }

  async save(dir: string): Promise<string[]> {
    const config: ArtifactConfig<SrParams> = { kind: 'sr', params: this.params };
    const rules: Array<[number, Array<[number, number]>]> = [];
    this.rules.forEach((r, from) => {
      if (r) rules.push([from, Array.from(r.to, (t, j) => [t, r.w[j]!])]);
    });
    return writeFilesAtomic(dir, [
      ['items.json', JSON.stringify(this.ranked.toJSON())],
      ['rules.json', JSON.stringify(rules)],
      ['config.json', JSON.stringify(config, null, 2)],
    ]);
  }
}

function sortRules(from: Map<number, number>, keep: number): RuleList {
  // Stable sort: equal weights keep first-seen order (session-rec's Counter.most_common).
  const e = [...from.entries()].sort((a, b) => b[1] - a[1]).slice(0, keep);
  return { to: Int32Array.from(e, ([t]) => t), w: Float64Array.from(e, ([, w]) => w) };
}

export function trainSr(train: readonly (readonly string[])[], params: Partial<SrParams> = {}): SrModel {
  const p: SrParams = { ...DEFAULT_SR_PARAMS, ...params };
  if (!(p.steps >= 1) || !(p.pruning >= 0)) throw new SkiffError('BAD_INPUT', `invalid SR params ${JSON.stringify(p)}`);
  const ranked = RankedItems.fromSessions(train);
  const acc: Array<Map<number, number> | undefined> = new Array(ranked.size);
  for (const s of train) {
    const ids = s.map((i) => ranked.id(i));
    for (let t = 1; t < ids.length; t++) {
      const cur = ids[t]!;
      for (let i = 1; i <= Math.min(p.steps, t); i++) {
        const prev = ids[t - i]!;
        const m = (acc[prev] ??= new Map());
        m.set(cur, (m.get(cur) ?? 0) + srWeight(p.weighting, i));
      }
    }
  }
  const rules = Array.from(acc, (m) => {
    if (!m) return undefined;
    const keep =
      p.pruning === 0 ? m.size : p.pruning < 1 ? m.size - Math.floor(m.size * p.pruning) : Math.floor(p.pruning);
    return sortRules(m, keep);
  });
  return new SrModel(ranked, rules, p);
}

export async function loadSr(dir: string): Promise<SrModel> {
  const config = await readArtifactJson<ArtifactConfig<SrParams>>(dir, 'config.json');
  const ranked = new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json'));
  const raw = await readArtifactJson<Array<[number, Array<[number, number]>]>>(dir, 'rules.json');
  const rules: Array<RuleList | undefined> = new Array(ranked.size);
  for (const [from, list] of raw) {
    if (from < 0 || from >= ranked.size || list.some(([t]) => t < 0 || t >= ranked.size))
      throw new SkiffError('ARTIFACT_CORRUPTED', `rules.json in ${dir} refers to unknown items`);
    rules[from] = { to: Int32Array.from(list, ([t]) => t), w: Float64Array.from(list, ([, w]) => w) };
  }
  return new SrModel(ranked, rules, { ...DEFAULT_SR_PARAMS, ...config.params });
}
