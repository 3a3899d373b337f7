import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Recommender, ScoredItem } from '@skiff/core';
import { HybridModel, resolveHybridParams } from './hybrid.js';
import { loadModelArtifact, trainCounted } from './model-kinds.js';
import { RankedItems } from './ranked-items.js';

/** A component that answers every prefix with the same list (as a baseline would: best first, max 1). */
function fixed(name: string, list: Array<[string, number]>): HybridModelComponent {
  const r: Recommender & { save(dir: string): Promise<string[]> } = {
    name,
    vocabulary: list.map(([i]) => i),
    recommend: (_h, k) => list.slice(0, k).map(([itemId, score]): ScoredItem => ({ itemId, score })),
    recommendBatch: (hs, k) => hs.map((h) => r.recommend(h, k)),
    save: () => Promise.resolve([]),
  };
  return r;
}
type HybridModelComponent = Recommender & { save(dir: string): Promise<string[]> };

const sessions = [
  ['a', 'b', 'c', 'd'],
  ['b', 'c', 'e'],
  ['a', 'c', 'd', 'f'],
  ['c', 'd', 'e', 'b'],
  ['f', 'a', 'b'],
  ['d', 'e', 'a', 'c', 'b'],
];

describe('hybrid', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('ranks by the weighted sum of the components’ scores, divides by the maximum, breaks ties by popularity and fills with popular items', () => {
    // Popularity: c 5, b 5, a 4, d 4, e 3, f 2 → ranked c? ties by id: b before c.
    const ranked = RankedItems.fromSessions(sessions);
    expect(ranked.items).toEqual(['b', 'c', 'a', 'd', 'e', 'f']);
    const h = new HybridModel(
      ranked,
      [
        {
          kind: 'vstan',
          weight: 1,
          model: fixed('vstan', [
            ['e', 1],
            ['f', 0.5],
            ['a', 0],
          ]),
        },
        {
          kind: 'sr',
          weight: 0.5,
          model: fixed('sr', [
            ['f', 1],
            ['d', 0.5],
            ['e', 0.2],
          ]),
        },
      ],
      resolveHybridParams({
        components: [
          { model: 'vstan', weight: 1 },
          { model: 'sr', weight: 0.5 },
        ],
      }),
    );
    // e 1 + 0.1 = 1.1; f 0.5 + 0.5 = 1.0; d 0.25; a only with score 0 (a fill, adds nothing).
    const list = h.recommend(['x'], 5);
    expect(list.map((r) => r.itemId)).toEqual(['e', 'f', 'd', 'b', 'c']);
    expect(list.map((r) => Number(r.score.toFixed(6)))).toEqual([
      1,
      Number((1 / 1.1).toFixed(6)),
      Number((0.25 / 1.1).toFixed(6)),
      0,
      0,
    ]);
    // Equal fused scores: the more popular item first.
    const tie = new HybridModel(
      ranked,
      [
        {
          kind: 'sr',
          weight: 1,
          model: fixed('sr', [
            ['f', 1],
            ['d', 1],
          ]),
        },
      ],
      resolveHybridParams({ components: [{ model: 'sr', weight: 1 }] }),
    );
    expect(tie.recommend([], 2).map((r) => r.itemId)).toEqual(['d', 'f']);
  });

  it('refuses a bad recipe with BAD_INPUT', () => {
    for (const bad of [
      { components: [] },
      { components: [{ model: 'vstan', weight: 0 }] },
      { components: [{ model: 'gru4rec', weight: 1 }] },
      { components: [{ model: 'vstan', weight: 1, extra: true }] },
      { components: [{ model: 'vstan', weight: 1 }], depth: 0 },
    ])
      expect(() => trainCounted('hybrid', sessions, { hybrid: bad as never })).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT' }) as Error,
      );
    // A component's own params are checked by that component.
    expect(() =>
      trainCounted('hybrid', sessions, { hybrid: { components: [{ model: 'vstan', weight: 1, params: { kk: 3 } }] } }),
    ).toThrow(/invalid hybrid params: components.0.params: .*"kk"/);
  });

  it('trains its components with their own params, saves them in sub-folders and loads back with identical lists', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-hybrid-'));
    dirs.push(dir);
    const model = trainCounted('hybrid', sessions, {
      lastTimes: sessions.map((_, i) => 1_000 + i * 60),
      hybrid: {
        components: [
          { model: 'vstan', weight: 1, params: { k: 3 } },
          { model: 'sr', weight: 0.2 },
        ],
        depth: 4,
      },
    });
    const files = await model.save(dir);
    expect(files).toEqual(
      expect.arrayContaining([
        'config.json',
        'items.json',
        'component-0-vstan/config.json',
        'component-1-sr/rules.json',
      ]),
    );
    const sub = JSON.parse(await readFile(path.join(dir, 'component-0-vstan/config.json'), 'utf8')) as {
      params: { k: number };
    };
    expect(sub.params.k).toBe(3);
    const loaded = await loadModelArtifact(dir);
    expect(loaded.name).toBe('hybrid');
    const prefixes = [['a'], ['b', 'c'], ['d', 'e', 'a'], ['zzz'], []];
    expect(loaded.recommendBatch(prefixes, 6)).toEqual(model.recommendBatch(prefixes, 6));
    expect(loaded.vocabulary).toEqual(model.vocabulary);
    // exclude is honoured through the components and the fill.
    const ex = loaded.recommend(['a'], 6, new Set(['b', 'c']));
    expect(ex.map((r) => r.itemId)).not.toContain('b');
    expect(ex.map((r) => r.itemId)).not.toContain('c');

    // A component folder that is not the kind the config names is a corrupted artifact.
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
      params: { components: Array<{ model: string }> };
    };
    config.params.components[1]!.model = 'pop';
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    await expect(loadModelArtifact(dir)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
  });
});
