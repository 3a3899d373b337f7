import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lineage, ModelManifest, ModelRegistry } from '@skiff/core';
import { createFsRegistry } from './create-fs-registry.js';
import { sha256File } from '@skiff/node-io';

const lineage: Lineage = { snapshotId: 'snap-1', loadIds: ['load-1'], codeVersion: 'test', backend: 'wasm' };

/**
 * Someone who can write a version folder (but not aliases.json and its history) must not be able
 * to change what an alias serves: every way of editing the folder or its manifest is refused.
 */
describe('fs registry tamper detection', () => {
  let dir: string;
  let root: string;
  let reg: ModelRegistry;
  let v1: string;
  const vdir = (v: string) => path.join(root, 'versions', v);
  const manifestFile = (v: string) => path.join(vdir(v), 'manifest.json');
  const readManifest = async (v: string) => JSON.parse(await readFile(manifestFile(v), 'utf8')) as ModelManifest;
  const writeManifest = (v: string, m: unknown) => writeFile(manifestFile(v), JSON.stringify(m, null, 2));
  const refused = async (ref: string, message: RegExp) => {
    await expect(reg.get(ref)).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPTED',
      message: expect.stringMatching(message),
    });
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-tamper-'));
    root = path.join(dir, 'reg');
    const src = path.join(dir, 'artifact');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    await writeFile(path.join(src, 'model.json'), '{"a":1}');
    await writeFile(path.join(src, 'sub', 'weights.bin'), Buffer.from([1, 2, 3]));
    reg = createFsRegistry({ root });
    v1 = (await reg.register({ name: 'm', sourceDir: src, metrics: { 'hr@20': 0.5 }, params: {}, lineage })).version;
    await reg.setAlias('production', v1);
    expect((await reg.get('production')).manifest.version).toBe(v1);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses a file the manifest does not list', async () => {
    await writeFile(path.join(vdir(v1), 'extra.js'), 'evil()');
    await refused(v1, /does not list: extra\.js/);
    await refused('production', /does not list/);
  });

  it('refuses a symlink inside the version folder', async () => {
    await symlink('/etc/hostname', path.join(vdir(v1), 'link'));
    await refused(v1, /not regular files: link/);
  });

  it('refuses a deleted entry even when the file is removed with it (the manifest is pinned)', async () => {
    const m = await readManifest(v1);
    delete (m.files as Record<string, string>)['sub/weights.bin'];
    await unlink(path.join(vdir(v1), 'sub', 'weights.bin'));
    await writeManifest(v1, m);
    await refused('production', /changed after alias production pinned it/);
    await refused(v1, /changed after alias production pinned it/);
  });

  it('refuses an entry outside the version folder', async () => {
    const outside = path.join(root, 'aliases.json');
    const m = await readManifest(v1);
    (m.files as Record<string, string>)['../../aliases.json'] = await sha256File(outside);
    await writeManifest(v1, m);
    // Unpinned (a version no alias ever named) it is still refused for the path itself.
    const v2 = (await reg.register({ name: 'm', sourceDir: vdir(v1), metrics: {}, params: {}, lineage })).version;
    const m2 = await readManifest(v2);
    (m2.files as Record<string, string>)['../../aliases.json'] = await sha256File(outside);
    await writeManifest(v2, m2);
    await refused(v2, /names "\.\.\/\.\.\/aliases\.json", which is not a file inside the version folder/);
    for (const bad of ['/etc/passwd', 'a/../../x', './model.json', 'sub\\x', '']) {
      (m2.files as Record<string, string>) = { [bad]: 'a'.repeat(64) };
      await writeManifest(v2, m2);
      await refused(v2, /not a file inside the version folder/);
    }
  });

  it('refuses a manifest whose version differs from its folder', async () => {
    const src = path.join(dir, 'artifact');
    const v2 = (await reg.register({ name: 'm', sourceDir: src, metrics: { 'hr@20': 0.9 }, params: {}, lineage }))
      .version;
    const m = await readManifest(v2);
    await writeManifest(v2, { ...m, version: v1 });
    await refused(v2, new RegExp(`folder ${v2} says version "${v1}"`));
    await expect(reg.setAlias('production', v2)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    expect(await reg.aliases()).toEqual({ production: v1 });
  });

  it('refuses a rewritten manifest (new metrics, re-hashed files) under the alias, by version and on rollback', async () => {
    const src = path.join(dir, 'artifact');
    const v2 = (await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage })).version;
    await reg.setAlias('production', v2);
    // v1 is no longer under the alias, but history pinned it: rewriting it is still caught.
    const m = await readManifest(v1);
    await writeFile(path.join(vdir(v1), 'model.json'), '{"a":"evil"}');
    await writeManifest(v1, {
      ...m,
      metrics: { 'hr@20': 0.99 },
      files: { ...m.files, 'model.json': await sha256File(path.join(vdir(v1), 'model.json')) },
    });
    await refused(v1, /changed after the production move of .* pinned it/);
    await expect(reg.rollback('production')).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    expect(await reg.aliases()).toEqual({ production: v2 });
    // The alias and every history line carry the pin.
    const pins = JSON.parse(await readFile(path.join(root, 'aliases.json'), 'utf8')) as Record<
      string,
      { version: string; manifestSha256: string }
    >;
    expect(pins['production']).toEqual({ version: v2, manifestSha256: await sha256File(manifestFile(v2)) });
    expect((await reg.history('production')).every((e) => /^[0-9a-f]{64}$/.test(e.manifestSha256 ?? ''))).toBe(true);
  });

  it('reads an aliases.json written before pins, pins on the next move, and refuses a corrupt one with a clear error', async () => {
    await writeFile(path.join(root, 'aliases.json'), JSON.stringify({ production: v1 }));
    expect(await reg.aliases()).toEqual({ production: v1 });
    await reg.setAlias('staging', v1);
    const pins = JSON.parse(await readFile(path.join(root, 'aliases.json'), 'utf8')) as Record<string, unknown>;
    expect(pins['staging']).toEqual({ version: v1, manifestSha256: await sha256File(manifestFile(v1)) });
    await writeFile(path.join(root, 'aliases.json'), '{"production": {"version": "../x"}}');
    await expect(reg.aliases()).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    await writeFile(path.join(root, 'aliases.json'), '{"production": ');
    await expect(reg.aliases()).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPTED',
      message: expect.stringMatching(/not valid JSON/),
    });
  });
});
