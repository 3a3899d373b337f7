import { describe, expect, it } from 'vitest';
import {
  pairedBootstrap,
  silentLogger,
  type SkiffError,
  type SplitSummary,
  type EvaluateOutput,
  type GateComparison,
  type ModelManifest,
  type ModelRegistry,
} from '@skiff/core';
import { createPipelineActivities, type PipelineDeps } from './activities.js';
import { decideGate } from './gate.js';

/**
 * Per-prediction hits of each model on the same n test points, compared the way the evaluate stage
 * does (paired bootstrap on every contender against every other model).
 */
function comparison(
  hits: Record<string, number[]>,
  roles: Record<string, 'candidate' | 'baseline' | 'champion'>,
): GateComparison {
  const opts = { confidence: 0.95, resamples: 1000, seed: 7 };
  const boot = pairedBootstrap(hits, opts);
  const names = Object.keys(hits);
  const models = Object.fromEntries(
    names.map((n) => [
      n,
      { role: roles[n]!, value: boot.means[n]!, ...(roles[n] === 'champion' ? { version: 'v0001' } : {}) },
    ]),
  );
  const pairs = names
    .filter((a) => roles[a] !== 'champion')
    .flatMap((a) =>
      names
        .filter((b) => b !== a)
        .map((b) => {
          const d = boot.diff(a, b);
          return { a, b, diff: d.diff, lo: d.lo, hi: d.hi };
        }),
    );
  return { metric: 'hr@20', ...opts, predictions: hits[names[0]!]!.length, models, pairs };
}

/** n points where the model hits with probability p (seeded, so every run sees the same points). */
function hits(n: number, p: number, seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32 < p ? 1 : 0;
  });
}

const N = 4000;
const roles = { candidate: 'candidate', pop: 'baseline', sr: 'baseline', champion: 'champion' } as const;

describe('the promotion gate', () => {
  it('promotes a candidate that beats the champion and every baseline, with the intervals in the reason', () => {
    const d = decideGate(
      comparison(
        { candidate: hits(N, 0.7, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.5, 3), champion: hits(N, 0.6, 4) },
        roles,
      ),
      'candidate',
    );
    expect(d.promote).toBe('candidate');
    expect(d.checks.map((c) => [c.against, c.passed])).toEqual([
      ['pop', true],
      ['sr', true],
      ['champion', true],
    ]);
    expect(d.checks.every((c) => c.lo > 0 && c.lo <= c.diff && c.diff <= c.hi)).toBe(true);
    expect(d.reason).toMatch(
      /beats all: pop 0\.\d{4}: \+0\.\d{4} \[95% CI \+0\.\d{4}, \+0\.\d{4}\]; sr .*; champion v0001 /,
    );
    expect(d.champion).toBe('v0001');
  });

  it('does not promote a candidate that loses to the champion', () => {
    const d = decideGate(
      comparison(
        { candidate: hits(N, 0.6, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.4, 3), champion: hits(N, 0.7, 4) },
        roles,
      ),
      'candidate',
    );
    expect(d.promote).toBeNull();
    expect(d.checks.filter((c) => !c.passed).map((c) => c.against)).toEqual(['champion']);
    expect(d.reason).toMatch(/does not beat champion v0001 .*: −0\.\d{4} \[95% CI −/);
  });

  it('does not promote a candidate that a baseline beats, even with no champion', () => {
    const d = decideGate(
      comparison(
        { candidate: hits(N, 0.55, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.62, 3) },
        { candidate: 'candidate', pop: 'baseline', sr: 'baseline' },
      ),
      'candidate',
    );
    expect(d.promote).toBeNull();
    expect(d.champion).toBeNull();
    expect(d.checks.filter((c) => !c.passed).map((c) => c.against)).toEqual(['sr']);
  });

  it('does not promote when the interval of the difference includes 0 (better on average, not for certain)', () => {
    // The candidate differs from sr on 72 points: it wins 40 and loses 32 — ahead, but by too little.
    const sr = hits(N, 0.5, 3);
    let won = 0;
    let lost = 0;
    const candidate = sr.map((h) => (h === 0 && won < 40 ? (won++, 1) : h === 1 && lost < 32 ? (lost++, 0) : h));
    const d = decideGate(
      comparison({ candidate, pop: hits(N, 0.1, 2), sr }, { candidate: 'candidate', pop: 'baseline', sr: 'baseline' }),
      'candidate',
    );
    const vsSr = d.checks.find((c) => c.against === 'sr')!;
    expect(vsSr.diff).toBeGreaterThan(0);
    expect(vsSr.lo).toBeLessThanOrEqual(0);
    expect(d.promote).toBeNull();
    expect(vsSr.hi).toBeGreaterThan(0);
    expect(d.reason).toMatch(/does not beat sr .*\[95% CI −0\.\d{4}, \+0\.\d{4}\]/);
  });

  it('promote-best promotes the baseline that beats everything, the candidate included', () => {
    const c = comparison(
      { candidate: hits(N, 0.55, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.7, 3), champion: hits(N, 0.5, 4) },
      roles,
    );
    expect(decideGate(c, 'candidate').promote).toBeNull();
    const d = decideGate(c, 'promote-best');
    expect(d.contender).toBe('sr');
    expect(d.promote).toBe('sr');
    expect(d.checks.map((x) => x.against)).toEqual(['candidate', 'pop', 'champion']);
    expect(d.reason).toMatch(/\(sr, the best of the run\)/);
  });

  describe('no clear winner (noWinner)', () => {
    // sr and vsknn differ on 72 points, sr ahead by 8: the best of the run, but not clearly.
    const sr = hits(N, 0.5, 3);
    let won = 0;
    let lost = 0;
    const vsknn = sr.map((h) => (h === 1 && won < 40 ? (won++, 0) : h === 0 && lost < 32 ? (lost++, 1) : h));
    const fresh = comparison(
      { candidate: hits(N, 0.3, 1), pop: hits(N, 0.1, 2), sr, vsknn },
      { candidate: 'candidate', pop: 'baseline', sr: 'baseline', vsknn: 'baseline' },
    );

    it('keep (default): nothing is promoted, even with production empty', () => {
      const d = decideGate(fresh, 'promote-best');
      expect(d.contender).toBe('sr');
      expect(d.promote).toBeNull();
      expect(d.fallback).toBeUndefined();
      expect(d.checks.find((c) => c.against === 'vsknn')).toMatchObject({ passed: false });
      expect(d.reason).toMatch(/does not beat vsknn .*\[95% CI −0\.\d{4}, \+0\.\d{4}\]/);
    });

    it('serve-best with production empty promotes the best model of the run on the point estimate, and says so', () => {
      const d = decideGate(fresh, 'promote-best', { noWinner: 'serve-best' });
      expect(d.promote).toBe('sr');
      expect(d.fallback).toBe('serve-best');
      expect(d.champion).toBeNull();
      // Nothing of the run beat it: every interval of another model minus it reaches below 0.
      for (const p of fresh.pairs.filter((x) => x.b === 'sr')) expect(p.lo).toBeLessThanOrEqual(0);
      expect(d.reason).toMatch(
        /^no clear winner: hr@20 0\.\d{4} \(sr, the best of the run\) .* does not beat vsknn .*Production is empty, so the best model of the run on the point estimate, sr \(hr@20 0\.\d{4}\), is promoted/,
      );
    });

    it('serve-best keeps an existing champion', () => {
      const withChampion = comparison(
        { candidate: hits(N, 0.3, 1), pop: hits(N, 0.1, 2), sr, vsknn, champion: hits(N, 0.45, 4) },
        { candidate: 'candidate', pop: 'baseline', sr: 'baseline', vsknn: 'baseline', champion: 'champion' },
      );
      const d = decideGate(withChampion, 'promote-best', { noWinner: 'serve-best' });
      expect(d.promote).toBeNull();
      expect(d.fallback).toBeUndefined();
      expect(d.champion).toBe('v0001');
    });

    it('serve-best never overrides a clear verdict: a clear winner is promoted as usual', () => {
      const clear = comparison(
        { candidate: hits(N, 0.7, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.5, 3) },
        { candidate: 'candidate', pop: 'baseline', sr: 'baseline' },
      );
      const d = decideGate(clear, 'promote-best', { noWinner: 'serve-best' });
      expect(d).toMatchObject({ promote: 'candidate' });
      expect(d.fallback).toBeUndefined();
    });
  });

  it('promotes when there is nothing to beat', () => {
    const d = decideGate(comparison({ candidate: hits(100, 0.5, 1) }, { candidate: 'candidate' }), 'candidate');
    expect(d.promote).toBe('candidate');
    expect(d.reason).toMatch(/no champion and no baselines/);
  });
});

describe('pairedBootstrap', () => {
  it('is seeded, paired and centred on the mean difference', () => {
    const a = hits(2000, 0.6, 1);
    const b = hits(2000, 0.5, 2);
    const x = pairedBootstrap({ a, b }, { confidence: 0.95, resamples: 500, seed: 3 }).diff('a', 'b');
    const y = pairedBootstrap({ a, b }, { confidence: 0.95, resamples: 500, seed: 3 }).diff('a', 'b');
    expect(x).toEqual(y);
    expect(x.lo).toBeLessThan(x.diff);
    expect(x.hi).toBeGreaterThan(x.diff);
    // Identical models: the paired difference is exactly 0 in every resample.
    expect(pairedBootstrap({ a, b: a }, { confidence: 0.95, resamples: 200, seed: 3 }).diff('a', 'b')).toMatchObject({
      diff: 0,
      lo: 0,
      hi: 0,
    });
  });
});

/** An in-memory registry that records alias moves. */
function memoryRegistry(initial: { champion?: string } = {}) {
  const versions: ModelManifest[] = [];
  const aliases: Record<string, string> = {};
  const moves: Array<{ alias: string; version: string; reason?: string }> = [];
  const add = (name: string, lineage: ModelManifest['lineage'], metrics = {}) => {
    const m = {
      name,
      version: `v${String(versions.length + 1).padStart(4, '0')}`,
      lineage,
      metrics,
      params: {},
      baselineMetrics: {},
      files: {},
      createdAt: '',
    } as ModelManifest;
    versions.push(m);
    return m;
  };
  if (initial.champion)
    aliases['production'] = add('gru4rec', { snapshotId: 's', loadIds: [], codeVersion: 't', backend: 'js' }).version;
  const registry = {
    list: async () => versions,
    register: async (i: { name: string; lineage: ModelManifest['lineage']; metrics: Record<string, number> }) =>
      add(i.name, i.lineage, i.metrics),
    get: async (v: string) => ({ manifest: versions.find((m) => m.version === (aliases[v] ?? v))!, dir: `/reg/${v}` }),
    aliases: async () => ({ ...aliases }),
    setAlias: async (alias: string, version: string, o: { reason?: string } = {}) => {
      aliases[alias] = version;
      moves.push({ alias, version, ...(o.reason ? { reason: o.reason } : {}) });
    },
  } as unknown as ModelRegistry;
  return { registry, versions, aliases, moves, add };
}

describe('promote applies the decision', () => {
  const lineage = { snapshotId: 's', loadIds: [], workflowId: 'wf', runId: 'r', codeVersion: 't', backend: 'js' };
  const evaluation: EvaluateOutput = {
    metrics: { 'hr@20': 0.55 },
    baselines: { pop: { 'hr@20': 0.1 }, sr: { 'hr@20': 0.7 } },
    predictions: N,
    baselineArtifacts: { pop: '/art/pop', sr: '/art/sr' },
  };
  const snapshot = { snapshotId: 's', loadIds: [] } as never;

  it('promote-best registers the winning baseline and moves production to it, the decision as the reason', async () => {
    const mem = memoryRegistry();
    const candidate = mem.add('gru4rec', lineage);
    const acts = createPipelineActivities({ registry: mem.registry, logger: silentLogger } as unknown as PipelineDeps);
    const decision = decideGate(
      comparison(
        { candidate: hits(N, 0.55, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.7, 3) },
        { candidate: 'candidate', pop: 'baseline', sr: 'baseline' },
      ),
      'promote-best',
    );
    const r = await acts.promote({
      version: candidate.version,
      metric: 'hr@20',
      decision,
      evaluation,
      snapshot,
      workflowId: 'wf',
      runId: 'r',
    });
    expect(r).toMatchObject({ promoted: true, promotedModel: 'sr', promotedVersion: 'v0002' });
    expect(mem.versions[1]).toMatchObject({
      name: 'sr',
      metrics: { 'hr@20': 0.7 },
      lineage: { runId: 'r:sr', workflowId: 'wf' },
    });
    expect(mem.moves).toEqual([
      {
        alias: 'production',
        version: 'v0002',
        reason: expect.stringMatching(
          /^promoted sr baseline v0002 \(over candidate v0001\): hr@20 0\.\d{4} \(sr, the best of the run\) .* beats all: candidate/,
        ),
      },
    ]);
  });

  it('moves nothing when the gate says no, and says why', async () => {
    const mem = memoryRegistry({ champion: 'v0001' });
    const candidate = mem.add('gru4rec', lineage);
    const acts = createPipelineActivities({ registry: mem.registry, logger: silentLogger } as unknown as PipelineDeps);
    const decision = decideGate(
      comparison(
        { candidate: hits(N, 0.55, 1), pop: hits(N, 0.1, 2), sr: hits(N, 0.7, 3), champion: hits(N, 0.5, 4) },
        roles,
      ),
      'candidate',
    );
    const r = await acts.promote({ version: candidate.version, metric: 'hr@20', decision, evaluation, snapshot });
    expect(r.promoted).toBe(false);
    expect(r.reason).toMatch(/^not promoted: .* does not beat sr/);
    expect(mem.moves).toEqual([]);
    expect(mem.aliases['production']).toBe('v0001');
  });

  it('serve-best on an empty production registers the best baseline and says there was no clear winner', async () => {
    const mem = memoryRegistry();
    const candidate = mem.add('gru4rec', lineage);
    const acts = createPipelineActivities({ registry: mem.registry, logger: silentLogger } as unknown as PipelineDeps);
    const sr = hits(N, 0.5, 3);
    let won = 0;
    let lost = 0;
    // pop equals sr on all but 72 points, sr ahead on 40 of them: ahead, not clearly.
    const close = sr.map((h) => (h === 1 && won < 40 ? (won++, 0) : h === 0 && lost < 32 ? (lost++, 1) : h));
    const decision = decideGate(
      comparison(
        { candidate: hits(N, 0.3, 1), pop: close, sr },
        { candidate: 'candidate', pop: 'baseline', sr: 'baseline' },
      ),
      'promote-best',
      { noWinner: 'serve-best' },
    );
    expect(decision).toMatchObject({ promote: 'sr', fallback: 'serve-best' });
    const r = await acts.promote({
      version: candidate.version,
      metric: 'hr@20',
      decision,
      evaluation,
      snapshot,
      workflowId: 'wf',
      runId: 'r',
    });
    expect(r).toMatchObject({ promoted: true, promotedModel: 'sr', promotedVersion: 'v0002' });
    expect(mem.moves[0]!.reason).toMatch(/^promoted sr baseline v0002 \(over candidate v0001\): no clear winner: /);
  });

  it('refuses a promotion decided against a champion that has moved since', async () => {
    const mem = memoryRegistry({ champion: 'v0001' });
    const candidate = mem.add('gru4rec', lineage);
    const acts = createPipelineActivities({ registry: mem.registry, logger: silentLogger } as unknown as PipelineDeps);
    const decision = decideGate(
      comparison({ candidate: hits(N, 0.8, 1), pop: hits(N, 0.1, 2) }, { candidate: 'candidate', pop: 'baseline' }),
      'candidate',
    );
    expect(decision.promote).toBe('candidate');
    const r = await acts.promote({ version: candidate.version, metric: 'hr@20', decision });
    expect(r).toMatchObject({ promoted: false });
    expect(r.reason).toMatch(/production moved to v0001 since the comparison against no champion/);
    expect(mem.moves).toEqual([]);
  });
});

describe('split checks of the snapshot stage', () => {
  const part = (sessions: number, predictions: number, removedEvents = 0, droppedSessions = 0) => ({
    sessions,
    events: sessions * 3,
    predictions,
    removedEvents,
    droppedSessions,
  });
  const summary = (train: number, vs: number, vp: number, ts: number, tp: number): SplitSummary => ({
    rule: { rule: 'last-days', testDays: 1 },
    validationStart: '2014-04-06T00:43:12.560Z',
    testStart: '2014-04-07T00:50:01.534Z',
    train: part(train, train * 2),
    validation: part(vs, vp, 12, 3),
    test: part(ts, tp),
  });
  const acts = (split: SplitSummary) =>
    createPipelineActivities({
      openWarehouse: async () => ({
        snapshot: async () => ({ snapshotId: 'snap-1', split }),
        close: async () => undefined,
      }),
      logger: silentLogger,
      paths: { snapshots: '/s' },
    } as unknown as PipelineDeps);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: SkiffError) => ({ code: e.code, message: e.message }),
    );

  it('passes a split at or above every minimum', async () => {
    await expect(acts(summary(13_629, 4_165, 12_454, 3_416, 10_152)).snapshot({})).resolves.toMatchObject({
      snapshotId: 'snap-1',
    });
    await expect(acts(summary(50, 50, 200, 50, 200)).snapshot({})).resolves.toMatchObject({ snapshotId: 'snap-1' });
  });

  it('fails with DATA_QUALITY_FAILED and every size when a split has too few sessions', async () => {
    const e = await failure(acts(summary(13_629, 4_165, 12_454, 3, 18)).snapshot({}));
    expect(e?.code).toBe('DATA_QUALITY_FAILED');
    expect(e?.message).toMatch(
      /^split too small: test has 3 sessions \(minimum 50\); test has 18 prediction points \(minimum 200\) \(train 13,629 sessions; validation 4,165 sessions \/ 12,454 predictions, 12 unseen-item events removed, 3 sessions dropped; test 3 sessions \/ 18 predictions; validation from 2014-04-06T00:43:12\.560Z, test from 2014-04-07T00:50:01\.534Z\)$/,
    );
  });

  it('fails when train is too small, or validation has too few prediction points, with configurable minimums', async () => {
    expect((await failure(acts(summary(10, 4_000, 9_000, 3_000, 9_000)).snapshot({})))?.message).toMatch(
      /^split too small: train has 10 sessions \(minimum 50\) \(/,
    );
    expect((await failure(acts(summary(1_000, 100, 150, 3_000, 9_000)).snapshot({})))?.message).toMatch(
      /^split too small: validation has 150 prediction points \(minimum 200\) \(/,
    );
    expect(
      await failure(acts(summary(1_000, 100, 150, 3_000, 9_000)).snapshot({ splitChecks: { minPredictions: 100 } })),
    ).toBeNull();
    expect(
      (await failure(acts(summary(1_000, 100, 150, 3_000, 9_000)).snapshot({ splitChecks: { minSessions: 101 } })))
        ?.message,
    ).toMatch(/validation has 100 sessions \(minimum 101\)/);
  });
});
