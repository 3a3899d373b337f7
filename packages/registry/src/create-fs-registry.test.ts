import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError, type Lineage } from '@skiff/core';
import { createFsRegistry } from './create-fs-registry.js';

const lineage: Lineage = { snapshotId: 'snap-1', loadIds: ['load-1'], workflowId: 'wf', codeVersion: 'test', backend: 'wasm' };

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
});
