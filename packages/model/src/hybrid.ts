import path from 'node:path';
import {
  HybridParamsSchema,
  SkiffError,
  type BaselineKind,
  type HybridParams,
  type Recommender,
  type ScoredItem,
} from '@skiff/core';
import { writeFilesAtomic } from '@skiff/node-io';
import { readArtifactJson, type ArtifactConfig } from './artifact.js';
import { RankedItems, TopK } from './ranked-items.js';

/** One fused model: a Recommender trained on the same sessions as the hybrid, with its weight. */
export interface HybridComponent {
  kind: BaselineKind;
  weight: number;
  model: Recommender & { save(dir: string): Promise<string[]> };
}

/**
 * The recipe when a run gives none: VSTAN with V-SKNN and SR mixed in at smaller weights, every
 * component with its default settings — the weights the first stage of the search behind
 * `apps/cli/configs/yoochoose-best.json` chose on its inner split (docs/evaluation.md).
 */
export const DEFAULT_HYBRID_PARAMS: Required<Pick<HybridParams, 'depth'>> & HybridParams = {
  components: [
    { model: 'vstan', weight: 1 },
    { model: 'vsknn', weight: 0.5 },
    { model: 'sr', weight: 0.05 },
  ],
  depth: 100,
};

/** The params with their defaults, validated (a bad recipe is BAD_INPUT, never a silent default). */
export function resolveHybridParams(given: HybridParams | undefined): HybridParams & { depth: number } {
  const parsed = HybridParamsSchema.safeParse(given ?? DEFAULT_HYBRID_PARAMS);
  if (!parsed.success)
    throw new SkiffError(
      'BAD_INPUT',
      `invalid hybrid params: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { retryable: false },
    );
  return { ...parsed.data, depth: parsed.data.depth ?? DEFAULT_HYBRID_PARAMS.depth };
}

/** Folder of component `i` inside the hybrid's artifact. */
const componentDir = (i: number, kind: string) => `component-${i}-${kind}`;

/**
 * Score fusion of several baselines trained on the same sessions. For a prefix, every component
 * ranks its top `depth` items (its scores are already divided by its own maximum, so each lies in
 * [0, 1]); an item's fused score is Σ weight_m · score_m over the components that listed it with a
 * positive score. The k best fused scores are returned divided by their maximum; ties go to the more
 * popular training item, and a short list is filled with the most popular items (score 0), like the
 * baselines. A component's own popular-item fill (score 0) adds nothing.
 *
 * Every component is deterministic and the fusion is a fixed sum in component order, so a saved and
 * reloaded hybrid returns the same lists.
 *
 * Artifact: `config.json` `{ kind: 'hybrid', params }`, `items.json` (the training items by count),
 * and one sub-folder per component (`component-<i>-<kind>/`, that kind's own artifact).
 */
export class HybridModel implements Recommender {
  readonly name = 'hybrid';
  readonly kind = 'hybrid' as const;
  readonly vocabulary: readonly string[];
  private readonly score: Float64Array;
  private readonly stamp: Int32Array;
  private readonly touched: Int32Array;
  private gen = 0;
  private readonly top = new TopK();

  constructor(
    readonly ranked: RankedItems,
    readonly components: readonly HybridComponent[],
    readonly params: HybridParams & { depth: number },
  ) {
    if (components.length === 0) throw new SkiffError('BAD_INPUT', 'a hybrid needs at least one component');
    this.vocabulary = ranked.items;
    this.score = new Float64Array(ranked.size);
    this.stamp = new Int32Array(ranked.size);
    this.touched = new Int32Array(ranked.size);
  }

  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[] {
    const { ranked, score, stamp, touched, top } = this;
    if (++this.gen > 0x7ffffff0) {
      this.gen = 1;
      stamp.fill(0);
    }
    const gen = this.gen;
    let nt = 0;
    const depth = Math.max(k, this.params.depth);
    for (const c of this.components) {
      for (const r of c.model.recommend(history, depth, exclude)) {
        if (!(r.score > 0)) continue;
        const id = ranked.id(r.itemId);
        if (id < 0) continue;
        if (stamp[id] !== gen) {
          stamp[id] = gen;
          score[id] = 0;
          touched[nt++] = id;
        }
        score[id] = score[id]! + c.weight * r.score;
      }
    }
    top.reset(k);
    let max = 0;
    for (let t = 0; t < nt; t++) {
      const id = touched[t]!;
      const v = score[id]!;
      if (v > max) max = v;
      top.push(id, v);
    }
    return top.toList(ranked, k, max, (id) => stamp[id] === gen, exclude);
  }

  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][] {
    return histories.map((h) => this.recommend(h, k));
  }

  async save(dir: string): Promise<string[]> {
    const files: string[] = [];
    for (const [i, c] of this.components.entries()) {
      const sub = componentDir(i, c.kind);
      for (const f of await c.model.save(path.join(dir, sub))) files.push(path.join(sub, f));
    }
    const config: ArtifactConfig<HybridParams & { depth: number }> = { kind: 'hybrid', params: this.params };
    // config.json last: a folder with it is complete.
    await writeFilesAtomic(dir, [['items.json', JSON.stringify(this.ranked.toJSON())]]);
    await writeFilesAtomic(dir, [['config.json', JSON.stringify(config, null, 2)]]);
    return [...files, 'items.json', 'config.json'];
  }
}

/** Builds a hybrid from components already trained on `train` (the same sessions for all). */
export function createHybrid(
  train: readonly (readonly string[])[],
  params: HybridParams | undefined,
  trainComponent: (
    kind: BaselineKind,
    componentParams: Record<string, unknown> | undefined,
  ) => HybridComponent['model'],
): HybridModel {
  const p = resolveHybridParams(params);
  const ranked = RankedItems.fromSessions(train);
  const components = p.components.map((c) => ({
    kind: c.model,
    weight: c.weight,
    model: trainComponent(c.model, c.params),
  }));
  return new HybridModel(ranked, components, p);
}

/** Loads a hybrid artifact; `loadComponent` loads each component folder by its own kind. */
export async function loadHybrid(
  dir: string,
  loadComponent: (componentDir: string) => Promise<Recommender & { save(dir: string): Promise<string[]> }>,
): Promise<HybridModel> {
  const config = await readArtifactJson<ArtifactConfig<HybridParams>>(dir, 'config.json');
  let params: HybridParams & { depth: number };
  try {
    params = resolveHybridParams(config.params);
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `config.json in ${dir}: ${(e as Error).message}`);
  }
  const ranked = new RankedItems(await readArtifactJson<Array<[string, number]>>(dir, 'items.json'));
  const components: HybridComponent[] = [];
  for (const [i, c] of params.components.entries()) {
    const model = await loadComponent(path.join(dir, componentDir(i, c.model)));
    if (model.name !== c.model)
      throw new SkiffError('ARTIFACT_CORRUPTED', `component ${i} in ${dir} is a ${model.name}, config says ${c.model}`);
    components.push({ kind: c.model, weight: c.weight, model });
  }
  return new HybridModel(ranked, components, params);
}
