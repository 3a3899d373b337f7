import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import { runMonitor } from './run-monitor.js';
import { HAND_EVENTS, HAND_ROWS, popRecommender, setupMonitorFixture, trainSessions } from './test-helpers/fixtures.js';

describe('runMonitor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mon-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Every prefix of every session, as the serving log records it (one session id per session). */
  const servedPrefixes = (sessions: string[][]) =>
    sessions.flatMap((s, k) => s.slice(1).map((_, i) => ({ items: s.slice(0, i + 1), sessionId: `s${k}` })));

  async function setup(servingItems: Array<string[] | { items: string[]; sessionId: string }>) {
    // 40 items; popularity falls with the index. Sessions of length 2..6.
    const train: string[][] = [];
    for (let s = 0; s < 600; s++)
      train.push(Array.from({ length: 2 + (s % 5) }, (_, i) => `i${(s * 7 + i * i) % (5 + (s % 35))}`));
    await mkdir(path.join(dir, 'snapshots', 'snap-a'), { recursive: true });
    await writeFile(path.join(dir, 'snapshots', 'snap-a', 'train.json'), JSON.stringify({ sessions: train }));
    const art = path.join(dir, 'art');
    await mkdir(art);
    await writeFile(path.join(art, 'model.json'), '{}');
    const registry = createFsRegistry({ root: path.join(dir, 'registry') });
    const m = await registry.register({
      name: 'm',
      sourceDir: art,
      metrics: {},
      params: {},
      lineage: { snapshotId: 'snap-a', loadIds: [], codeVersion: 't', backend: 'wasm' },
    });
    await registry.setAlias('production', m.version);
    await mkdir(path.join(dir, 'serving'));
    const lines = servingItems.map((r) =>
      JSON.stringify({
        ts: new Date().toISOString(),
        ...(Array.isArray(r) ? { items: r } : r),
        recommended: [{ itemId: 'i1', score: 0.5 }],
      }),
    );
    await writeFile(path.join(dir, 'serving', 'serving-1.ndjson'), lines.join('\n') + '\nnot json\n');
    return { registry, train };
  }

  const run = (registry: ReturnType<typeof createFsRegistry>) =>
    runMonitor({
      registry,
      servingLogDir: path.join(dir, 'serving'),
      snapshotsDir: path.join(dir, 'snapshots'),
      reportsDir: path.join(dir, 'reports'),
      logger: silentLogger,
    });

  it('finds no drift when serving traffic looks like training', async () => {
    const train: string[][] = [];
    for (let s = 0; s < 600; s++)
      train.push(Array.from({ length: 2 + (s % 5) }, (_, i) => `i${(s * 7 + i * i) % (5 + (s % 35))}`));
    const { registry } = await setup(servedPrefixes(train.slice(0, 300)));
    const r = await run(registry);
    expect(r.modelVersion).toBe('v0001');
    expect(r.columns.map((c) => c.column)).toEqual(['session_length', 'item_popularity_bucket']);
    expect(r.datasetDrift).toBe(false);
    const html = await readFile(r.htmlPath, 'utf8');
    expect(html).toContain('<svg');
    expect(JSON.parse(await readFile(r.snapshotPath, 'utf8'))).toHaveProperty('metric_results');
  });

  it('detects drift when sessions are long and items unknown', async () => {
    const drifted = Array.from({ length: 400 }, (_, s) =>
      Array.from({ length: 10 + (s % 10) }, (_, i) => `new${s + i}`),
    );
    const { registry } = await setup(drifted);
    const r = await run(registry);
    expect(r.datasetDrift).toBe(true);
    expect(r.columns.every((c) => c.drifted)).toBe(true);
    expect(r.currentRows).toBe(400);
  });

  it('writes every run into one Evidently workspace project (stable id, lowercase uuids)', async () => {
    const { registry } = await setup(Array.from({ length: 50 }, () => ['i1', 'i2']));
    const opts = {
      registry,
      servingLogDir: path.join(dir, 'serving'),
      snapshotsDir: path.join(dir, 'snapshots'),
      reportsDir: path.join(dir, 'reports'),
      logger: silentLogger,
    };
    const a = await runMonitor({ ...opts, now: new Date('2026-02-01T00:00:00Z') });
    const b = await runMonitor({ ...opts, now: new Date('2026-02-02T00:00:00Z') });
    expect(a.workspacePath).toBe(path.join(dir, 'reports', 'evidently-workspace'));
    expect(b.workspaceProjectId).toBe(a.workspaceProjectId);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(await readdir(a.workspacePath)).toEqual([a.workspaceProjectId]);
    expect(a.workspaceProjectId).toMatch(uuid);
    const projectDir = path.join(a.workspacePath, a.workspaceProjectId);
    expect(JSON.parse(await readFile(path.join(projectDir, 'metadata.json'), 'utf8'))).toEqual({
      id: a.workspaceProjectId,
      name: 'skiff',
      description: null,
      org_id: null,
      version: '2',
    });
    const snaps = (await readdir(path.join(projectDir, 'snapshots'))).sort();
    expect(snaps).toHaveLength(2);
    for (const f of snaps) expect(f.replace(/\.json$/, '')).toMatch(uuid);
    expect(snaps.map((f) => path.join(projectDir, 'snapshots', f))).toEqual([
      a.workspaceSnapshotPath,
      b.workspaceSnapshotPath,
    ]);
    const snap = JSON.parse(await readFile(b.workspaceSnapshotPath, 'utf8')) as {
      metric_results: object;
      timestamp: string;
    };
    expect(Object.keys(snap.metric_results)).toHaveLength(b.columns.length + 1);
    // A project someone renamed/created elsewhere with the same name is reused, not duplicated.
    await rm(path.join(dir, 'reports', 'evidently-workspace'), { recursive: true });
    const other = path.join(dir, 'reports', 'evidently-workspace', '0190a0b0-0000-7000-8000-000000000001');
    await mkdir(other, { recursive: true });
    await writeFile(
      path.join(other, 'metadata.json'),
      JSON.stringify({ id: path.basename(other), name: 'skiff', description: 'mine', org_id: null, version: '2' }),
    );
    const c = await runMonitor(opts);
    expect(c.workspaceProjectId).toBe(path.basename(other));
  });

  it('measures online quality from logged next events and describes predictions (hand-made logs)', async () => {
    const f = await setupMonitorFixture(
      dir,
      HAND_ROWS.map((r) => ({ ...r, recommended: r.recommended })),
      { events: HAND_EVENTS },
    );
    const r = await runMonitor({
      registry: f.registry,
      servingLogDir: f.servingDir,
      snapshotsDir: f.snapshotsDir,
      reportsDir: f.reportsDir,
      logger: silentLogger,
    });
    // eventsDir defaults to <servingLogDir>/../online, where the serving app writes events-*.ndjson.
    expect(r.online).toEqual({
      records: 5,
      withNextEvent: 4,
      'hr@20': 0.5,
      'mrr@20': 0.25,
      'hr@k': 0.75,
      'mrr@k': (1 / 2 + 1 / 2 + 1 / 25) / 4,
    });
    expect(r.prediction).toEqual({
      coverage: 36,
      top10Share: 14 / 40,
      distinctItems: 36,
      vocabularySize: null,
      slots: 40,
    });
    const html = await readFile(r.htmlPath, 'utf8');
    expect(html).toContain('Model quality (online)');
    expect(html).toMatch(/hr@20<\/td><td class="num">0\.5</);
    expect(html).toMatch(/top-10 items share of slots<\/td><td class="num">0\.35</);
    // Explicit eventsDir pointing nowhere: no online figures, but prediction descriptors stay.
    const none = await runMonitor({
      registry: f.registry,
      servingLogDir: f.servingDir,
      snapshotsDir: f.snapshotsDir,
      reportsDir: f.reportsDir,
      logger: silentLogger,
      eventsDir: path.join(dir, 'nope'),
    });
    expect(none.online).toBeNull();
    expect(none.prediction?.slots).toBe(40);
  });

  it('skips hour_of_day and the recommendation columns when the data does not allow them', async () => {
    const { registry } = await setup(Array.from({ length: 50 }, () => ['i1', 'i2']));
    const r = await run(registry);
    expect(r.columns.map((c) => c.column)).toEqual(['session_length', 'item_popularity_bucket']);
    expect(r.skippedColumns.map((c) => c.column)).toEqual([
      'category',
      'hour_of_day',
      'rec_popularity_bucket',
      'top_score',
    ]);
    expect(r.skippedColumns[1]!.reason).toMatch(/timestamps/);
    expect(await readFile(r.htmlPath, 'utf8')).toContain('Columns not compared');
  });

  it('monitors hour_of_day, rec_popularity_bucket and top_score when train times and the recommender are given', async () => {
    const train = trainSessions();
    // Training sessions spread over every hour; serving traffic only at 03:00 → hour_of_day drifts.
    const startedAt = train.map((_, s) => new Date(Date.UTC(2026, 0, 1 + (s % 7), s % 24, 5)).toISOString());
    const served = popRecommender(train, 3); // the live model's scores tripled → top_score drifts
    // Two days of traffic (hour_of_day needs a window of ≥ 24 h), always at 03:xx.
    const serving = servedPrefixes(train.slice(0, 300)).map(({ items, sessionId }, n) => ({
      items,
      sessionId,
      ts: new Date(Date.UTC(2026, 0, 9 + (n % 2), 3, n % 60)).toISOString(),
      recommended: served.recommend(items, 20),
    }));
    const items = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`i${i}`, { category: `c${i % 3}` }]));
    const f = await setupMonitorFixture(dir, serving, { train: { startedAt }, items });
    let batchCalls = 0;
    const model = popRecommender(train, 1);
    const recommender = {
      ...model,
      recommendBatch: (hs: ReadonlyArray<readonly string[]>, k: number) => (batchCalls++, model.recommendBatch(hs, k)),
    };
    const r = await runMonitor({
      registry: f.registry,
      servingLogDir: f.servingDir,
      snapshotsDir: f.snapshotsDir,
      reportsDir: f.reportsDir,
      logger: silentLogger,
      recommender,
    });
    expect(batchCalls).toBe(1);
    expect(r.skippedColumns).toEqual([]);
    const by = Object.fromEntries(r.columns.map((c) => [c.column, c]));
    expect(Object.keys(by)).toEqual([
      'session_length',
      'item_popularity_bucket',
      'category',
      'hour_of_day',
      'rec_popularity_bucket',
      'top_score',
    ]);
    expect(by.category!.drifted).toBe(false);
    expect(by.hour_of_day!.drifted).toBe(true);
    expect(by.top_score!.drifted).toBe(true);
    expect(by.rec_popularity_bucket!.drifted).toBe(false);
    expect(by.session_length!.drifted).toBe(false);
    expect(r.prediction!.vocabularySize).toBe(model.vocabulary.length);
    expect(r.prediction!.coverage).toBeCloseTo(20 / model.vocabulary.length, 12);
  });

  it('skips hour_of_day when the current window is shorter than a day (the clock is not drift)', async () => {
    const train = trainSessions();
    const startedAt = train.map((_, s) => new Date(Date.UTC(2026, 0, 1 + (s % 7), s % 24, 5)).toISOString());
    const serving = Array.from({ length: 100 }, (_, n) => ({
      items: train[n]!.slice(0, 1),
      ts: new Date(Date.UTC(2026, 0, 9, 3, 0, n * 30)).toISOString(),
    }));
    const f = await setupMonitorFixture(dir, serving, { train: { startedAt } });
    const r = await runMonitor({
      registry: f.registry,
      servingLogDir: f.servingDir,
      snapshotsDir: f.snapshotsDir,
      reportsDir: f.reportsDir,
      logger: silentLogger,
    });
    expect(r.columns.map((c) => c.column)).not.toContain('hour_of_day');
    expect(r.skippedColumns.find((c) => c.column === 'hour_of_day')?.reason).toBe(
      'the current window covers 0.8 h; hour of day is compared over 24 h or more',
    );
  });

  describe("category (the last item's category, from the snapshot's items.json)", () => {
    // Four categories by item index; i38/i39 have none, `zz` is not in the catalogue.
    const items = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`i${i}`, { category: i >= 38 ? null : `c${i % 4}` }]),
    );
    const prefixesOf = (sessions: string[][]) => sessions.flatMap((s) => s.slice(1).map((_, i) => s.slice(0, i + 1)));

    it('does not drift when requests look like training, (an item outside the catalogue counts as missing)', async () => {
      const train = trainSessions();
      const f = await setupMonitorFixture(dir, [...servedPrefixes(train.slice(0, 300)), { items: ['zz'] }], { items });
      const r = await runMonitor({
        registry: f.registry,
        servingLogDir: f.servingDir,
        snapshotsDir: f.snapshotsDir,
        reportsDir: f.reportsDir,
        logger: silentLogger,
      });
      const cat = r.columns.find((c) => c.column === 'category');
      // > 1000 reference rows and categorical: Evidently's default is Jensen–Shannon.
      expect(cat).toMatchObject({ method: 'jensenshannon', drifted: false });
      expect(r.currentRows).toBe(prefixesOf(train.slice(0, 300)).length + 1);
    });

    it('drifts when the traffic shifts to one category', async () => {
      const train = trainSessions();
      // Only prefixes that end on a c1 item: same lengths and buckets roughly, one category.
      const shifted = prefixesOf(train)
        .filter((p) => Number(p.at(-1)!.slice(1)) % 4 === 1 && Number(p.at(-1)!.slice(1)) < 38)
        .slice(0, 400);
      const f = await setupMonitorFixture(
        dir,
        shifted.map((p) => ({ items: p })),
        { items },
      );
      const r = await runMonitor({
        registry: f.registry,
        servingLogDir: f.servingDir,
        snapshotsDir: f.snapshotsDir,
        reportsDir: f.reportsDir,
        logger: silentLogger,
      });
      expect(r.columns.find((c) => c.column === 'category')).toMatchObject({ drifted: true });
    });

    it('is skipped with a reason when the snapshot has no items.json', async () => {
      const f = await setupMonitorFixture(dir, [{ items: ['i1'] }]);
      const r = await runMonitor({
        registry: f.registry,
        servingLogDir: f.servingDir,
        snapshotsDir: f.snapshotsDir,
        reportsDir: f.reportsDir,
        logger: silentLogger,
      });
      expect(r.skippedColumns.find((c) => c.column === 'category')?.reason).toBe('the snapshot has no items.json');
    });
  });

  describe("quality drop (online metric vs the served version's offline one)", () => {
    // HAND_ROWS/HAND_EVENTS: 4 judged requests, online hr@20 = 0.5.
    const monitor = async (metrics: Record<string, number>, gate: Record<string, number>) => {
      const f = await setupMonitorFixture(dir, HAND_ROWS, { events: HAND_EVENTS, metrics });
      return runMonitor({
        registry: f.registry,
        servingLogDir: f.servingDir,
        snapshotsDir: f.snapshotsDir,
        reportsDir: f.reportsDir,
        logger: silentLogger,
        qualityGate: gate,
      });
    };

    it('flags a drop larger than the limit, with both numbers and the reason, in the result and the HTML', async () => {
      const r = await monitor({ 'hr@20': 0.8 }, { minEvents: 4 });
      expect(r.quality).toEqual({
        metric: 'hr@20',
        maxRelativeDrop: 0.2,
        minEvents: 4,
        online: 0.5,
        offline: 0.8,
        relativeDrop: 1 - 0.5 / 0.8,
        events: 4,
        dropped: true,
        reason: 'online hr@20 0.5000 vs offline 0.8000: 37.5 % lower (limit 20.0 %)',
      });
      expect(await readFile(r.htmlPath, 'utf8')).toContain('QUALITY DROP');
    });

    it('does not flag a drop within the limit, nor judge too few events or a version without the metric', async () => {
      expect((await monitor({ 'hr@20': 0.55 }, { minEvents: 4 })).quality).toMatchObject({
        dropped: false,
        reason: 'online hr@20 0.5000 vs offline 0.5500: 9.1 % lower (limit 20.0 %)',
      });
      expect((await monitor({ 'hr@20': 0.8 }, { minEvents: 5 })).quality).toMatchObject({
        dropped: false,
        relativeDrop: null,
        reason: '4 served requests with a next event (< 5): not judged',
      });
      expect((await monitor({}, { minEvents: 1 })).quality).toMatchObject({
        dropped: false,
        offline: null,
        reason: 'the served version has no offline hr@20: not judged',
      });
      // mrr@20: online 0.25 vs 0.3 is 16.7 % lower — within a 20 % limit, over a 10 % one.
      expect((await monitor({ 'mrr@20': 0.3 }, { minEvents: 1, metric: 'mrr@20' as never })).quality?.dropped).toBe(
        false,
      );
      expect(
        (await monitor({ 'mrr@20': 0.3 }, { minEvents: 1, maxRelativeDrop: 0.1, metric: 'mrr@20' as never })).quality
          ?.dropped,
      ).toBe(true);
    });
  });

  it('samples at most 5000 reference prefixes for the recommender, deterministically', async () => {
    const { samplePrefixes } = await import('./features.js');
    const big = Array.from({ length: 3000 }, (_, s) => Array.from({ length: 4 }, (_, i) => `x${(s + i) % 97}`));
    const a = samplePrefixes(big, 5000);
    expect(a).toHaveLength(5000);
    expect(samplePrefixes(big, 5000)).toEqual(a);
    expect(samplePrefixes(big.slice(0, 10), 5000)).toHaveLength(30);
  });
});
