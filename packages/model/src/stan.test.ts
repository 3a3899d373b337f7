import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelArtifact, trainBaseline } from './model-kinds.js';
import { mulberry32 } from './random.js';
import {
  DEFAULT_STAN_PARAMS,
  DEFAULT_VSTAN_PARAMS,
  loadStan,
  trainStan,
  type StanKind,
  type VstanParams,
} from './stan.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-stan-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const ids = (list: Array<{ itemId: string }>) => list.map((r) => r.itemId);
const DAY = 86_400;

/**
 * The definitions written out directly, with maps and sorts and no precomputed tables: the
 * candidate union, its most recent `sampleSize`, the weighted cosine × recency, the top k, and the
 * item scores. The model must give the same scores (up to the division by the maximum).
 */
function oracle(
  kind: StanKind,
  train: string[][],
  times: number[],
  prefix: string[],
  p: VstanParams,
): Map<string, number> {
  const L = prefix.length;
  const w1 = new Map<string, number>();
  const at = new Map<string, number>();
  prefix.forEach((it, c) => {
    w1.set(it, p.lambdaSpw > 0 ? Math.exp((c + 1 - L) / p.lambdaSpw) : 1);
    at.set(it, c + 1);
  });
  const norm = Math.sqrt([...w1.values()].reduce((a, w) => a + w * w, 0));
  let cands = train.map((_, i) => i).filter((i) => train[i]!.some((it) => w1.has(it)));
  cands.sort((a, b) => times[b]! - times[a]!);
  if (p.sampleSize > 0) cands = cands.slice(0, p.sampleSize);
  const newest = Math.max(...times);
  const neigh = cands
    .map((i) => {
      const set = new Set(train[i]);
      let dot = 0;
      for (const it of set) dot += w1.get(it) ?? 0;
      const rec = p.lambdaSnh > 0 ? Math.exp(-(newest - times[i]!) / (p.lambdaSnh * DAY)) : 1;
      return { i, sim: (dot / (norm * Math.sqrt(set.size))) * rec };
    })
    .filter((n) => n.sim > 0)
    .sort((a, b) => b.sim - a.sim)
    .slice(0, p.k);
  const events = new Map<string, number>();
  for (const s of train) for (const it of s) events.set(it, (events.get(it) ?? 0) + 1);
  const scores = new Map<string, number>();
  for (const { i, sim } of neigh) {
    const seq = train[i]!;
    const last = new Map<string, number>();
    let pStar = 0;
    seq.forEach((it, j) => {
      last.set(it, j + 1);
      if (w1.has(it)) pStar = j + 1;
    });
    let cStar = 0;
    prefix.forEach((it, c) => {
      if (last.has(it)) cStar = c + 1;
    });
    for (const [it, pos] of last) {
      if (!p.remind && w1.has(it)) continue;
      let v = sim * (p.lambdaInh > 0 ? Math.exp(-Math.abs(pos - pStar) / p.lambdaInh) : 1);
      if (kind === 'vstan') {
        if (p.lambdaIdf > 0) v += v * Math.log(train.length / events.get(it)!) * p.lambdaIdf;
        if (p.lambdaIpw > 0) v *= Math.exp((cStar - L) / p.lambdaIpw);
      }
      scores.set(it, (scores.get(it) ?? 0) + v);
    }
  }
  return scores;
}

describe('STAN', () => {
  // Sessions one day apart; popularity a 3, b 2, c 2, e 2, d 1.
  const train = [
    ['a', 'b', 'a'],
    ['b', 'c'],
    ['c', 'd', 'e'],
    ['a', 'e'],
  ];
  const times = [0, 1, 2, 3].map((d) => d * DAY);
  const ones = { lambdaSpw: 1, lambdaSnh: 1, lambdaInh: 1 };

  it('weights positions, neighbour age and item distance as defined (hand-computed)', () => {
    // Prefix [a, c]: w1(a) = e^-1, w1(c) = 1, ‖w1‖ = 1.0655. Neighbours (recency e^-age in days):
    //   [a,e]   sim e^-1/(1.0655·√2)          = .24415, p* = 1 (a): a += .24415, e += .24415·e^-1
    //   [c,d,e] sim 1/(1.0655·√3)·e^-1        = .19934, p* = 1 (c): c += .19934, d ·e^-1, e ·e^-2
    //   [b,c]   sim 1/(1.0655·√2)·e^-2        = .08982, p* = 2 (c): c += .08982, b ·e^-1
    //   [a,b,a] sim e^-1/(1.0655·√2)·e^-3     = .01216, p* = 3 (last a): a ·1, b (last at 2) ·e^-1
    // c .28915, a .25631, e .11680, d .07333, b .03751 → divided by c's score.
    const m = trainStan('stan', train, ones, { lastTimes: times });
    const list = m.recommend(['a', 'c'], 6);
    expect(ids(list)).toEqual(['c', 'a', 'e', 'd', 'b']);
    const expected = [1, 0.25631 / 0.28915, 0.1168 / 0.28915, 0.07333 / 0.28915, 0.03751 / 0.28915];
    list.forEach((r, j) => expect(r.score).toBeCloseTo(expected[j]!, 3));
  });

  it('keeps the most recent sampleSize candidates and the top k neighbours', () => {
    // sampleSize 1: only [a,e] (newest) is a candidate.
    expect(
      ids(trainStan('stan', train, { ...ones, sampleSize: 1 }, { lastTimes: times }).recommend(['a', 'c'], 2)),
    ).toEqual(['a', 'e']);
    // k 1: only the most similar neighbour, [a,e] (.24415), scores.
    expect(ids(trainStan('stan', train, { ...ones, k: 1 }, { lastTimes: times }).recommend(['a', 'c'], 2))).toEqual([
      'a',
      'e',
    ]);
  });

  it('leaves the prefix out with remind false, honours exclude, and fills with popular items', () => {
    const m = trainStan('stan', train, { ...ones, remind: false }, { lastTimes: times });
    expect(ids(m.recommend(['a', 'c'], 5))).toEqual(['e', 'd', 'b']);
    const r = trainStan('stan', train, ones, { lastTimes: times });
    expect(ids(r.recommend(['a', 'c'], 3, new Set(['c'])))).toEqual(['a', 'e', 'd']);
    // Unknown items only / empty prefix: the most popular items with score 0.
    expect(r.recommend(['zzz'], 2)).toEqual([
      { itemId: 'a', score: 0 },
      { itemId: 'b', score: 0 },
    ]);
    expect(r.recommendBatch([[], ['a']], 2)).toEqual([r.recommend([], 2), r.recommend(['a'], 2)]);
  });

  it('measures age from the newest training session, so the ranking does not depend on when it is served', () => {
    const shifted = times.map((t) => t + 400 * DAY);
    const a = trainStan('stan', train, ones, { lastTimes: times }).recommend(['a', 'c'], 5);
    const b = trainStan('stan', train, ones, { lastTimes: shifted }).recommend(['a', 'c'], 5);
    expect(ids(b)).toEqual(ids(a));
    b.forEach((r, j) => expect(r.score).toBeCloseTo(a[j]!.score, 12));
  });
});

describe('STAN and VSTAN against the definitions written out', () => {
  it('give the same scores as the direct computation on random sessions and settings', () => {
    const rand = mulberry32(11);
    const items = Array.from({ length: 30 }, (_, i) => `i${i}`);
    const pick = () => items[Math.floor(rand() * rand() * items.length)]!;
    const train = Array.from({ length: 300 }, () => Array.from({ length: 2 + Math.floor(rand() * 6) }, pick));
    // Distinct random times (no recency ties, so both sides pick the same sample).
    const times = train.map(() => rand() * 30 * DAY);
    for (let trial = 0; trial < 40; trial++) {
      const kind: StanKind = trial % 2 ? 'vstan' : 'stan';
      const p: VstanParams = {
        k: [5, 20, 1000][trial % 3]!,
        sampleSize: [0, 30, 100][Math.floor(trial / 3) % 3]!,
        lambdaSpw: [1e-5, 0.5, 2, 0][trial % 4]!,
        lambdaSnh: [5, 10, 0][trial % 3]!,
        lambdaInh: [2, 0.5, 0][trial % 3]!,
        lambdaIpw: [2, 1, 0][trial % 3]!,
        lambdaIdf: [2, 0][trial % 2]!,
        remind: trial % 5 !== 0,
      };
      const own =
        kind === 'stan'
          ? {
              k: p.k,
              sampleSize: p.sampleSize,
              lambdaSpw: p.lambdaSpw,
              lambdaSnh: p.lambdaSnh,
              lambdaInh: p.lambdaInh,
              remind: p.remind,
            }
          : p;
      const model = trainStan(kind, train, own, { lastTimes: times });
      const prefix = Array.from({ length: 1 + Math.floor(rand() * 5) }, pick);
      const want = oracle(kind, train, times, prefix, p);
      const max = Math.max(...want.values());
      const got = model.recommend(prefix, items.length).filter((r) => r.score > 0);
      expect(new Set(ids(got)), `trial ${trial}`).toEqual(
        new Set([...want].filter(([, v]) => v > 0).map(([it]) => it)),
      );
      for (const r of got) expect(r.score, `trial ${trial} ${r.itemId}`).toBeCloseTo(want.get(r.itemId)! / max, 9);
      for (let j = 1; j < got.length; j++) expect(got[j]!.score).toBeLessThanOrEqual(got[j - 1]!.score);
    }
  });
});

describe('STAN/VSTAN parameters and artifacts', () => {
  const train = [
    ['a', 'b', 'a'],
    ['b', 'c'],
    ['c', 'd', 'e'],
    ['a', 'e'],
  ];

  it("defaults to session-rec's RSC15 settings and refuses invalid or foreign params", () => {
    expect(trainStan('stan', train).params).toEqual(DEFAULT_STAN_PARAMS);
    expect(trainStan('vstan', train).params).toEqual(DEFAULT_VSTAN_PARAMS);
    expect(() => trainStan('stan', train, { k: 0 })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => trainStan('vstan', train, { lambdaIdf: -1 })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => trainStan('stan', train, { lambdaSnh: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    expect(() => trainStan('stan', train, { lambdaIdf: 2 })).toThrow(/unknown STAN params: lambdaIdf/);
    expect(() => trainStan('stan', train, {}, { lastTimes: [1, 2] })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    expect(() => trainStan('stan', train, {}, { lastTimes: [1, 2, Number.NaN, 4] })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
  });

  it('saves and loads back by kind, identically, and refuses a corrupted artifact', async () => {
    for (const kind of ['stan', 'vstan'] as const) {
      const model = trainBaseline(kind, train, {
        lastTimes: [5, 1, 3, 2].map((d) => d * DAY),
        [kind]: { lambdaInh: 1 },
      });
      const dir = path.join(tmp, `art-${kind}`);
      expect(await model.save(dir)).toEqual(['items.json', 'sessions.json', 'config.json']);
      expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({
        kind,
        params: { lambdaInh: 1 },
      });
      const loaded = await loadModelArtifact(dir);
      expect(loaded.name).toBe(kind);
      const h = [['a'], ['b', 'c'], ['c', 'a', 'c'], ['unknown'], []];
      expect(loaded.recommendBatch(h, 4)).toEqual(model.recommendBatch(h, 4));
      const sessions = JSON.parse(await readFile(path.join(dir, 'sessions.json'), 'utf8')) as {
        sessions: number[][];
        lastTimes: number[];
      };
      // Click order with repeats, most recent session first.
      expect(sessions.sessions[0]!.length).toBe(3);
      await writeFile(
        path.join(dir, 'sessions.json'),
        JSON.stringify({ ...sessions, sessions: [[0, 99], ...sessions.sessions.slice(1)] }),
      );
      await expect(loadStan(dir, kind)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
      await writeFile(
        path.join(dir, 'sessions.json'),
        JSON.stringify({ ...sessions, lastTimes: sessions.lastTimes.slice(1) }),
      );
      await expect(loadStan(dir, kind)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
      await writeFile(path.join(dir, 'sessions.json'), JSON.stringify(sessions));
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ kind, params: { k: -3 } }));
      await expect(loadStan(dir, kind)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    }
  });
});
