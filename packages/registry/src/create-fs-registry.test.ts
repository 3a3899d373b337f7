import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError, type Lineage } from '@skiff/core';
import { createFsRegistry } from './create-fs-registry.js';
import { rollbackTarget } from '@skiff/core';

const lineage: Lineage = {
  snapshotId: 'snap-1',
  loadIds: ['load-1'],
  workflowId: 'wf',
  codeVersion: 'test',
  backend: 'wasm',
};

describe('fs registry', () => {
  let dir: string;
  let src: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-reg-'));
    src = path.join(dir, 'artifact');
    await mkdir(src);
    await writeFile(path.join(src, 'model.json'), '{"a":1}');
    await writeFile(path.join(src, 'weights.bin'), Buffer.from([1, 2, 3]));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('registers immutable numbered versions with file hashes and lineage', async () => {
    const reg = createFsRegistry({ root: path.join(dir, 'reg') });
    const a = await reg.register({ name: 'gru4rec', sourceDir: src, metrics: { 'hr@20': 0.5 }, params: {}, lineage });
    const b = await reg.register({ name: 'gru4rec', sourceDir: src, metrics: { 'hr@20': 0.6 }, params: {}, lineage });
    expect([a.version, b.version]).toEqual(['v0001', 'v0002']);
    expect(Object.keys(a.files)).toEqual(['model.json', 'weights.bin']);
    expect((await reg.list()).map((m) => m.metrics['hr@20'])).toEqual([0.5, 0.6]);
    const got = await reg.get('v0002');
    expect(got.manifest.lineage.snapshotId).toBe('snap-1');
  });

  it('moves aliases and resolves them', async () => {
    const reg = createFsRegistry({ root: path.join(dir, 'reg') });
    const a = await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage });
    await expect(reg.get('production')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await reg.setAlias('production', a.version);
    expect((await reg.get('production')).manifest.version).toBe('v0001');
    expect(await reg.aliases()).toEqual({ production: 'v0001' });
    await expect(reg.setAlias('production', 'v0042')).rejects.toBeInstanceOf(SkiffError);
  });

  it('refuses a corrupted artifact', async () => {
    const reg = createFsRegistry({ root: path.join(dir, 'reg') });
    const a = await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage });
    await writeFile(path.join(dir, 'reg', 'versions', a.version, 'weights.bin'), Buffer.from([9]));
    await expect(reg.get(a.version)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
  });

  it('writes who/from/to/why history lines and reads the first history format', async () => {
    const root = path.join(dir, 'reg');
    const reg = createFsRegistry({ root, actor: 'tester', now: () => new Date('2026-01-02T03:04:05Z') });
    const a = await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage });
    const b = await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage });
    // A line as the first version of this adapter wrote it.
    await writeFile(
      path.join(root, 'alias-history.ndjson'),
      JSON.stringify({ at: '2026-01-01T00:00:00.000Z', alias: 'production', version: a.version, previous: null }) +
        '\n',
    );
    await writeFile(path.join(root, 'aliases.json'), JSON.stringify({ production: a.version }));
    await reg.setAlias('production', b.version, { reason: 'better' });
    const lines = (await readFile(path.join(root, 'alias-history.ndjson'), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[1]!)).toEqual({
      at: '2026-01-02T03:04:05.000Z',
      alias: 'production',
      from: 'v0001',
      to: 'v0002',
      actor: 'tester',
      reason: 'better',
      action: 'set',
      manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await reg.history())[0]).toMatchObject({ from: null, to: 'v0001', actor: 'unknown', action: 'set' });
    expect((await reg.rollback('production')).to).toBe('v0001');
  });

  it('rollbackTarget trusts the live alias over a history that lost a line', () => {
    const ev = (from: string | null, to: string, action: 'set' | 'rollback' = 'set') => ({
      at: 'x',
      alias: 'p',
      from,
      to,
      action,
      actor: 'a',
      reason: '',
    });
    expect(rollbackTarget([ev(null, 'v0001'), ev('v0001', 'v0002')], 'p', 'v0002')).toBe('v0001');
    expect(rollbackTarget([ev(null, 'v0001'), ev('v0001', 'v0002')], 'p', 'v0003')).toBe('v0002');
    expect(() => rollbackTarget([], 'p', undefined)).toThrow(SkiffError);
  });
});

describe('diffManifests / compareRuns', () => {
  it('puts params, metrics, baselines and lineage side by side with deltas', async () => {
    const { diffManifests, compareRuns } = await import('./diff.js');
    const base = { name: 'gru4rec', createdAt: 't', files: { 'model.json': 'a'.repeat(64) }, lineage } as const;
    const a = {
      ...base,
      version: 'v0001',
      params: { epochs: 3, lr: 0.01 },
      metrics: { 'hr@20': 0.5 },
      baselineMetrics: { pop: { 'hr@20': 0.1 } },
    };
    const b = {
      ...base,
      version: 'v0002',
      params: { epochs: 5, lr: 0.01, layers: [64] },
      metrics: { 'hr@20': 0.75, 'mrr@20': 0.2 },
      baselineMetrics: {},
      lineage: { ...lineage, snapshotId: 'snap-2' },
    };
    const d = diffManifests(a, b);
    expect(d.params).toEqual([
      { key: 'epochs', a: 3, b: 5, same: false, delta: 2 },
      { key: 'layers', a: null, b: '[64]', same: false },
      { key: 'lr', a: 0.01, b: 0.01, same: true, delta: 0 },
    ]);
    expect(d.metrics[0]).toEqual({ key: 'hr@20', a: 0.5, b: 0.75, same: false, delta: 0.25 });
    expect(d.baselines).toEqual([{ key: 'pop.hr@20', a: 0.1, b: null, same: false }]);
    expect(d.lineage.find((r) => r.key === 'snapshotId')).toEqual({
      key: 'snapshotId',
      a: 'snap-1',
      b: 'snap-2',
      same: false,
    });
    const run = (id: string, loss: number) => ({
      runId: id,
      experiment: 'e',
      name: id,
      status: 'finished' as const,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:30.000Z',
      params: { lr: '0.1' },
      tags: {},
      metrics: { loss },
    });
    const c = compareRuns(run('r1', 0.5), run('r2', 0.25));
    expect(c.metrics).toEqual([{ key: 'loss', a: 0.5, b: 0.25, same: false, delta: -0.25 }]);
    expect(c.run.find((r) => r.key === 'seconds')).toMatchObject({ a: 30, b: 30, same: true });
  });
});
