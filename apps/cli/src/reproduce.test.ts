import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '@skiff/core';
import { verifySnapshotDir } from '@skiff/ingest';
import { createFsRegistry } from '@skiff/registry';
import { createCatalogue, writeRawLogs } from '@skiff/simulator';
import type { ReproductionResult } from '@skiff/pipeline';
import { runCliInProcess, runCliProcess, type CliResult } from './test-helpers/cli.js';

interface TrainResult {
  modelVersion: string;
  snapshotId: string;
  metrics: Record<string, number>;
}

/** What a progress bar line looks like (`train     [####################] 100% | epoch 1/1`). */
const BAR = /\[[#-]{20}\] +\d+%/;

/**
 * `skiff train --reproduce <version>`: the snapshot a version was trained on is re-hashed
 * when its folder is still there, rebuilt from the warehouse over the version's recorded loads only
 * when it is gone, and refused (unless --force) when it does not hash to the recorded id. The model
 * is an SR baseline: deterministic, so a faithful reproduction gives exactly the same metrics. The
 * two training runs also check the training progress bar (progress.ts) on a real (non-terminal) stderr.
 */
describe('skiff train --reproduce', () => {
  let root: string;
  let dataDir: string;
  let registry: ReturnType<typeof createFsRegistry>;
  let v1: ModelManifest;

  const env = { SKIFF_LOG_LEVEL: 'warn', SKIFF_MLFLOW_TRACKING_URI: '' };
  const train = (...args: string[]) =>
    runCliProcess(['train', '--inline', '--model', 'sr', '--json', '--data-dir', dataDir, ...args], env);
  const reproduce = (...args: string[]) =>
    runCliInProcess(['train', '--reproduce', ...args, '--json', '--data-dir', dataDir, '--log-level', 'warn']);
  const lastJson = <T>(r: CliResult): T => {
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
  };
  const snapshotDir = (id: string) => path.join(dataDir, 'snapshots', id);
  const exists = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    delete process.env['SKIFF_MLFLOW_TRACKING_URI'];
    root = await mkdtemp(path.join(os.tmpdir(), 'skiff-reproduce-'));
    dataDir = path.join(root, 'data');
    await writeRawLogs({
      dir: path.join(dataDir, 'raw'),
      catalogue: createCatalogue({ items: 300, seed: 4 }),
      sessions: 1500,
      seed: 4,
      start: new Date(Date.UTC(2026, 0, 1)),
      days: 4,
    });
    // --progress forces the bar onto stderr even though it is a pipe here.
    const r = await train('--progress');
    const out = lastJson<TrainResult>(r);
    expect(out.modelVersion).toBe('v0001');
    expect(r.stdout.trim().split('\n'), 'with --json, stdout holds only the result').toHaveLength(1);
    const bars = r.stderr.split('\n').filter((l) => BAR.test(l));
    expect(bars.some((l) => l.startsWith('train ') && l.includes('100% | epoch 1/1'))).toBe(true);
    expect(bars.some((l) => l.startsWith('ingest '))).toBe(true);
    expect(r.stderr, 'no terminal escapes on a pipe').not.toMatch(/\x1b/); // eslint-disable-line no-control-regex
    registry = createFsRegistry({ root: path.join(dataDir, 'registry') });
    v1 = (await registry.get('v0001')).manifest;
    expect(v1.lineage.loadIds).toHaveLength(1);
  }, 120_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('re-verifies the stored snapshot folder and gets exactly the recorded metrics', async () => {
    const r = lastJson<ReproductionResult>(await reproduce('v0001'));
    expect(r.snapshot).toMatchObject({
      source: 'folder',
      recordedId: v1.lineage.snapshotId,
      computedId: v1.lineage.snapshotId,
      matches: true,
    });
    expect(r.snapshotId).toBe(v1.lineage.snapshotId);
    expect(Object.keys(r.metrics).sort()).toEqual(Object.keys(v1.metrics).sort());
    for (const [k, m] of Object.entries(r.metrics)) expect(m.reproduced, k).toBe(v1.metrics[k]);
    expect(r.maxAbsDiff).toBe(0);
    // Nothing is registered.
    expect((await registry.list()).map((m) => m.version)).toEqual(['v0001']);
  });

  it('rebuilds a deleted snapshot from the recorded loads only, ignoring a load added after training', async () => {
    // New raw data (a later week, other sessions): the next training loads it as a second load.
    await writeRawLogs({
      dir: path.join(dataDir, 'raw', 'later'),
      catalogue: createCatalogue({ items: 300, seed: 4 }),
      sessions: 600,
      seed: 9,
      start: new Date(Date.UTC(2026, 0, 8)),
      days: 2,
    });
    const r2 = await train();
    const v2 = lastJson<TrainResult>(r2);
    expect(v2.modelVersion).toBe('v0002');
    expect(v2.snapshotId).not.toBe(v1.lineage.snapshotId);
    expect((await registry.get('v0002')).manifest.lineage.loadIds).toEqual([...v1.lineage.loadIds, expect.any(String)]);
    // Without --progress, a stderr that is not a terminal gets no bar.
    expect(r2.stderr.split('\n').filter((l) => BAR.test(l))).toEqual([]);

    const dir = snapshotDir(v1.lineage.snapshotId);
    const original = await readFile(path.join(dir, 'train.json'), 'utf8');
    await rm(dir, { recursive: true });
    const r = lastJson<ReproductionResult>(await reproduce('v0001'));
    expect(r.snapshot).toMatchObject({
      source: 'rebuilt',
      recordedId: v1.lineage.snapshotId,
      computedId: v1.lineage.snapshotId,
      matches: true,
      dir,
    });
    expect(r.snapshotId).toBe(v1.lineage.snapshotId);
    for (const [k, m] of Object.entries(r.metrics)) expect(Math.abs(m.diff), k).toBeLessThanOrEqual(1e-9);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-9);
    // The folder is back, byte for byte, and hashes to its name.
    expect(await readFile(path.join(dir, 'train.json'), 'utf8')).toBe(original);
    const v = await verifySnapshotDir(dir);
    expect(v).toMatchObject({ ok: true, computedId: v1.lineage.snapshotId });
    expect(v.snapshot.loadIds).toEqual(v1.lineage.loadIds);
  }, 120_000);

  it('refuses a snapshot folder whose files no longer hash to its id, unless --force', async () => {
    const dir = snapshotDir(v1.lineage.snapshotId);
    const backup = path.join(root, 'backup');
    await cp(dir, backup, { recursive: true });
    try {
      const file = path.join(dir, 'train.json');
      const split = JSON.parse(await readFile(file, 'utf8')) as { sessions: string[][]; startedAt: string[] };
      split.sessions = split.sessions.slice(0, Math.floor(split.sessions.length / 2));
      split.startedAt = split.startedAt.slice(0, split.sessions.length);
      await writeFile(file, JSON.stringify(split));

      const refused = await reproduce('v0001');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /^skiff: BAD_INPUT: snapshot folder .* does not match its id: its files hash to snap-[0-9a-f]{12}, not /,
      );
      expect(refused.stderr).toContain('--force');

      const forced = lastJson<ReproductionResult>(await reproduce('v0001', '--force'));
      expect(forced.snapshot).toMatchObject({ source: 'folder', matches: false, recordedId: v1.lineage.snapshotId });
      expect(forced.snapshot.computedId).not.toBe(v1.lineage.snapshotId);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await cp(backup, dir, { recursive: true });
    }
  });

  it('refuses a rebuilt snapshot whose id is not the recorded one, unless --force, and names unknown loads', async () => {
    const { dir: v1Dir } = await registry.get('v0001');
    // A version whose lineage claims another snapshot of the same loads (as if the raw rows or the SQL had changed since).
    const claimed = await registry.register({
      name: 'sr',
      sourceDir: v1Dir,
      metrics: v1.metrics,
      baselineMetrics: v1.baselineMetrics,
      params: v1.params,
      lineage: { ...v1.lineage, snapshotId: 'snap-0123456789ab' },
    });
    const refused = await reproduce(claimed.version);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `the snapshot rebuilt from loads ${v1.lineage.loadIds.join(', ')} is ${v1.lineage.snapshotId}, not the recorded snap-0123456789ab`,
    );
    const forced = lastJson<ReproductionResult>(await reproduce(claimed.version, '--force'));
    expect(forced.snapshot).toMatchObject({
      source: 'rebuilt',
      matches: false,
      recordedId: 'snap-0123456789ab',
      computedId: v1.lineage.snapshotId,
    });
    expect(forced.maxAbsDiff).toBe(0);
    expect(await exists(snapshotDir('snap-0123456789ab'))).toBe(false);

    const lost = await registry.register({
      name: 'sr',
      sourceDir: v1Dir,
      metrics: v1.metrics,
      params: v1.params,
      lineage: { ...v1.lineage, snapshotId: 'snap-ba9876543210', loadIds: ['load-20250101000000-deadbeef'] },
    });
    const unknown = await reproduce(lost.version);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^skiff: BAD_INPUT: load not in the warehouse: load-20250101000000-deadbeef/);
  });

  it('reproduces a tiny GRU4Rec on the same backend within 1e-6, from a rebuilt snapshot', async () => {
    const config = path.join(root, 'tiny-gru4rec.json');
    await writeFile(
      config,
      JSON.stringify({
        model: 'gru4rec',
        embeddingDim: 8,
        hiddenUnits: 8,
        maxLen: 6,
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
        seed: 7,
      }),
    );
    const trained = lastJson<TrainResult>(
      await runCliProcess(['train', '--inline', '--config', config, '--json', '--data-dir', dataDir], env),
    );
    const { manifest } = await registry.get(trained.modelVersion);
    expect(manifest.name).toBe('gru4rec');
    await rm(snapshotDir(manifest.lineage.snapshotId), { recursive: true });
    const r = lastJson<ReproductionResult>(await reproduce(trained.modelVersion));
    expect(r.snapshot).toMatchObject({ source: 'rebuilt', matches: true, recordedId: manifest.lineage.snapshotId });
    expect(r.backend.reproduced).toBe(r.backend.original);
    expect(r.maxAbsDiff).not.toBeNull();
    expect(r.maxAbsDiff!).toBeLessThanOrEqual(1e-6);
  }, 120_000);

  it('--model sasrec trains the SASRec-style model, registers it with its metrics, and reproduces it within 1e-6', async () => {
    const config = path.join(root, 'tiny-attention.json');
    await writeFile(
      config,
      JSON.stringify({
        model: 'gru4rec',
        embeddingDim: 8,
        hiddenUnits: 16,
        maxLen: 6,
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
        seed: 7,
        blocks: 1,
        heads: 2,
      }),
    );
    const trained = lastJson<TrainResult>(
      await runCliProcess(
        ['train', '--inline', '--config', config, '--model', 'sasrec', '--json', '--data-dir', dataDir],
        env,
      ),
    );
    const { manifest, dir } = await registry.get(trained.modelVersion);
    expect(manifest.name).toBe('sasrec');
    expect(manifest.params).toMatchObject({ model: 'sasrec', blocks: 1, heads: 2 });
    expect(manifest.metrics['hr@20']).toBeGreaterThan(0);
    expect(manifest.metrics['hr@20']).toBe(trained.metrics['hr@20']);
    expect(JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'))).toMatchObject({ format: 'skiff-sasrec' });
    const r = lastJson<ReproductionResult>(await reproduce(trained.modelVersion));
    expect(r.maxAbsDiff).not.toBeNull();
    expect(r.maxAbsDiff!).toBeLessThanOrEqual(1e-6);
  }, 120_000);
});
