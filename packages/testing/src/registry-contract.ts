import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError, type Lineage, type ModelRegistry } from '@skiff/core';

/** What a registry adapter hands the contract suite for one test (a fresh, empty store). */
export interface RegistryHarness {
  registry: ModelRegistry;
  /** Overwrites one stored artifact file of `version` behind the registry's back. */
  tamper(version: string, file: string, content: Uint8Array): Promise<void>;
  /** A second client of the same store (another process or user would see the same). */
  reopen?(): ModelRegistry | Promise<ModelRegistry>;
  cleanup?(): Promise<void>;
}

export interface ContractOptions {
  /** When set, the suite is skipped and the reason is shown in the test name. */
  skip?: string | false;
  /** Concurrent registrations / alias flips the concurrency cases make (default 6 / 40). */
  concurrentRegistrations?: number;
  aliasFlips?: number;
}

export const contractLineage: Lineage = {
  snapshotId: 'snap-1',
  loadIds: ['load-1'],
  workflowId: 'wf-1',
  runId: 'run-1',
  codeVersion: 'contract',
  backend: 'wasm',
};

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(SkiffError);
  await expect(p).rejects.toMatchObject({ code });
}

/**
 * The behaviour every `ModelRegistry` adapter must have (docs/design.md, Registry): numbered immutable
 * versions with sha256 manifests, validated names, atomic alias moves with who/from/to/why
 * history, rollback, and refusal of tampered artifacts.
 * @example
 * describeModelRegistryContract('fs', async () => {
 *   const root = await mkdtemp(...);
 *   return { registry: createFsRegistry({ root }), tamper: (v, f, c) => writeFile(path.join(root, 'versions', v, f), c) };
 * });
 */
export function describeModelRegistryContract(
  name: string,
  makeRegistry: () => Promise<RegistryHarness>,
  options: ContractOptions = {},
): void {
  const suite = options.skip ? describe.skip : describe;
  const title = options.skip
    ? `ModelRegistry contract: ${name} (SKIPPED: ${options.skip})`
    : `ModelRegistry contract: ${name}`;
  suite(title, () => {
    let h: RegistryHarness;
    let reg: ModelRegistry;
    let tmp: string;
    let src: string;
    let n = 0;

    /** A fresh artifact folder whose content identifies it. */
    async function artifact(tag: string): Promise<string> {
      const dir = path.join(tmp, `artifact-${++n}`);
      await mkdir(path.join(dir, 'sub'), { recursive: true });
      await writeFile(path.join(dir, 'model.json'), JSON.stringify({ tag }));
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from([1, 2, 3, n % 256]));
      await writeFile(path.join(dir, 'sub', 'vocabulary.json'), JSON.stringify(['a', 'b', tag]));
      return dir;
    }
    const registerOne = async (r: ModelRegistry, tag: string, metric = 0.5) =>
      r.register({
        name: 'gru4rec',
        sourceDir: await artifact(tag),
        metrics: { 'hr@20': metric },
        baselineMetrics: { pop: { 'hr@20': 0.1 } },
        params: { tag, epochs: 3 },
        lineage: contractLineage,
      });

    beforeEach(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-contract-'));
      src = await artifact('first');
      h = await makeRegistry();
      reg = h.registry;
    });
    afterEach(async () => {
      await h?.cleanup?.();
      await rm(tmp, { recursive: true, force: true });
    });

    it('registers immutable numbered versions with file hashes, params, metrics and lineage', async () => {
      const a = await reg.register({
        name: 'gru4rec',
        sourceDir: src,
        metrics: { 'hr@20': 0.5 },
        baselineMetrics: { pop: { 'hr@20': 0.1 } },
        params: { epochs: 3, lr: 0.01 },
        lineage: contractLineage,
      });
      const b = await registerOne(reg, 'second', 0.6);
      expect([a.version, b.version]).toEqual(['v0001', 'v0002']);
      expect(Object.keys(a.files).sort()).toEqual(['model.json', 'sub/vocabulary.json', 'weights.bin']);
      expect(a.files['weights.bin']).toMatch(/^[0-9a-f]{64}$/);
      expect(a.name).toBe('gru4rec');
      expect(Number.isNaN(Date.parse(a.createdAt))).toBe(false);
      const listed = await reg.list();
      expect(listed.map((m) => [m.version, m.metrics['hr@20']])).toEqual([
        ['v0001', 0.5],
        ['v0002', 0.6],
      ]);
      const got = await reg.get('v0001');
      expect(got.manifest).toEqual(a);
      expect(got.manifest.params).toEqual({ epochs: 3, lr: 0.01 });
      expect(got.manifest.baselineMetrics).toEqual({ pop: { 'hr@20': 0.1 } });
      expect(got.manifest.lineage).toEqual(contractLineage);
      expect(await readFile(path.join(got.dir, 'model.json'), 'utf8')).toBe(JSON.stringify({ tag: 'first' }));
      expect(JSON.parse(await readFile(path.join(got.dir, 'sub', 'vocabulary.json'), 'utf8'))).toEqual([
        'a',
        'b',
        'first',
      ]);
      // The source folder can go away: the version is a copy.
      await rm(src, { recursive: true, force: true });
      expect((await reg.get('v0001')).manifest.version).toBe('v0001');
    });

    it('refuses an empty or missing artifact folder', async () => {
      const empty = path.join(tmp, 'empty');
      await mkdir(empty);
      await expectCode(
        reg.register({ name: 'm', sourceDir: empty, metrics: {}, params: {}, lineage: contractLineage }),
        'BAD_INPUT',
      );
      await expectCode(
        reg.register({
          name: 'm',
          sourceDir: path.join(tmp, 'missing'),
          metrics: {},
          params: {},
          lineage: contractLineage,
        }),
        'BAD_INPUT',
      );
      expect(await reg.list()).toEqual([]);
    });

    it('refuses malformed version and alias names (no path traversal)', async () => {
      const a = await registerOne(reg, 'x');
      for (const bad of [
        '../v0001',
        'v0001/../../etc',
        '/etc/passwd',
        '',
        'v1',
        'latest',
        'Production',
        'a/b',
        'a'.repeat(65),
        'prod uction',
        '.hidden',
      ])
        await expectCode(reg.get(bad), 'BAD_INPUT');
      for (const bad of [
        '../production',
        'Production',
        'v0001',
        'v7',
        'latest',
        '',
        '-x',
        '9lives',
        'a'.repeat(65),
        'pro/d',
        'prod\n',
      ])
        await expectCode(reg.setAlias(bad, a.version), 'BAD_INPUT');
      for (const bad of ['../v0001', '1', 'production', 'v0001/..', ''])
        await expectCode(reg.setAlias('production', bad), 'BAD_INPUT');
      await expectCode(reg.setAlias('production', 'v0042'), 'MODEL_NOT_FOUND');
      await expectCode(reg.get('v0042'), 'MODEL_NOT_FOUND');
      await expectCode(reg.get('production'), 'MODEL_NOT_FOUND');
      await expectCode(reg.history('../x'), 'BAD_INPUT');
      await expectCode(reg.rollback('../x'), 'BAD_INPUT');
      expect(await reg.aliases()).toEqual({});
      expect('a'.repeat(64)).toMatch(/^[a-z][a-z0-9_-]{0,63}$/);
      await reg.setAlias('a'.repeat(64), a.version);
      await reg.setAlias('canary_2-b', a.version);
      expect(await reg.aliases()).toEqual({ ['a'.repeat(64)]: 'v0001', 'canary_2-b': 'v0001' });
    });

    it('moves aliases, resolves them and records who/from/to/why', async () => {
      const a = await registerOne(reg, 'a');
      const b = await registerOne(reg, 'b');
      await reg.setAlias('production', a.version);
      expect((await reg.get('production')).manifest.version).toBe('v0001');
      await reg.setAlias('staging', b.version, { actor: 'ci' });
      await reg.setAlias('production', b.version, { reason: 'hr@20 0.5 → 0.6', actor: 'ana' });
      expect(await reg.aliases()).toEqual({ production: 'v0002', staging: 'v0002' });
      expect((await reg.get('production')).manifest.params['tag']).toBe('b');
      const all = await reg.history();
      expect(all.map((e) => [e.alias, e.from, e.to, e.action])).toEqual([
        ['production', null, 'v0001', 'set'],
        ['staging', null, 'v0002', 'set'],
        ['production', 'v0001', 'v0002', 'set'],
      ]);
      const prod = await reg.history('production');
      expect(prod).toHaveLength(2);
      expect(prod[1]).toMatchObject({ actor: 'ana', reason: 'hr@20 0.5 → 0.6' });
      expect(prod[0]!.actor.length).toBeGreaterThan(0);
      expect(prod[0]!.reason.length).toBeGreaterThan(0);
      expect(all[1]!.actor).toBe('ci');
      for (const e of all) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      expect(await reg.history('nothing-here')).toEqual([]);
    });

    it('rolls an alias back to its previous targets, recording each rollback', async () => {
      const [v1, v2, v3] = [await registerOne(reg, '1'), await registerOne(reg, '2'), await registerOne(reg, '3')].map(
        (m) => m.version,
      );
      await expectCode(reg.rollback('production'), 'BAD_INPUT'); // never set
      await reg.setAlias('production', v1!);
      await expectCode(reg.rollback('production'), 'BAD_INPUT'); // nothing before v1
      await reg.setAlias('production', v2!);
      await reg.setAlias('staging', v3!);
      await reg.setAlias('production', v3!);
      const r1 = await reg.rollback('production', { actor: 'oncall', reason: 'latency regression' });
      expect(r1).toMatchObject({
        alias: 'production',
        from: v3,
        to: v2,
        action: 'rollback',
        actor: 'oncall',
        reason: 'latency regression',
      });
      expect((await reg.aliases())['production']).toBe(v2);
      const r2 = await reg.rollback('production');
      expect(r2).toMatchObject({ from: v2, to: v1, action: 'rollback' });
      expect(r2.reason.length).toBeGreaterThan(0);
      await expectCode(reg.rollback('production'), 'BAD_INPUT');
      expect((await reg.get('production')).manifest.version).toBe(v1);
      // A new move after rollbacks: rolling back returns to where we were just before it.
      await reg.setAlias('production', v3!);
      expect((await reg.rollback('production')).to).toBe(v1);
      expect((await reg.aliases())['staging']).toBe(v3); // other aliases untouched
      expect((await reg.history('production')).map((e) => `${e.action}:${e.from ?? '-'}>${e.to}`)).toEqual([
        `set:->${v1}`,
        `set:${v1}>${v2}`,
        `set:${v2}>${v3}`,
        `rollback:${v3}>${v2}`,
        `rollback:${v2}>${v1}`,
        `set:${v1}>${v3}`,
        `rollback:${v3}>${v1}`,
      ]);
    });

    it('refuses a tampered artifact and keeps serving intact versions', async () => {
      const a = await registerOne(reg, 'a');
      const b = await registerOne(reg, 'b');
      await reg.setAlias('production', a.version);
      await reg.get(a.version); // a first, clean read (adapters that cache must still re-verify)
      await h.tamper(a.version, 'weights.bin', Buffer.from([9, 9, 9]));
      await expectCode(reg.get(a.version), 'ARTIFACT_CORRUPTED');
      await expectCode(reg.get('production'), 'ARTIFACT_CORRUPTED');
      expect((await reg.get(b.version)).manifest.version).toBe(b.version);
      await h.tamper(b.version, 'sub/vocabulary.json', Buffer.from('["x"]'));
      await expectCode(reg.get(b.version), 'ARTIFACT_CORRUPTED');
    });

    it('lands every one of concurrent registrations intact, with distinct versions', async () => {
      const count = options.concurrentRegistrations ?? 6;
      const other = h.reopen ? await h.reopen() : reg;
      const made = await Promise.all(
        Array.from({ length: count }, (_, i) => registerOne(i % 2 ? other : reg, `c${i}`, i / 100)),
      );
      const versions = made.map((m) => m.version).sort();
      expect(new Set(versions).size).toBe(count);
      expect(versions).toEqual(Array.from({ length: count }, (_, i) => `v${String(i + 1).padStart(4, '0')}`));
      for (const m of made) {
        const got = await reg.get(m.version);
        expect(got.manifest.params['tag']).toBe(m.params['tag']);
        expect(JSON.parse(await readFile(path.join(got.dir, 'model.json'), 'utf8'))).toEqual({ tag: m.params['tag'] });
      }
    });

    it('moves an alias atomically under concurrent readers', async () => {
      const a = await registerOne(reg, 'a');
      const b = await registerOne(reg, 'b');
      await reg.setAlias('production', a.version);
      const flips = options.aliasFlips ?? 40;
      const reader = h.reopen ? await h.reopen() : reg;
      let done = false;
      const seen = new Set<string>();
      const writer = (async () => {
        try {
          for (let i = 0; i < flips; i++) await reg.setAlias('production', i % 2 ? a.version : b.version);
        } finally {
          done = true;
        }
      })();
      const readers = [0, 1].map(async (k) => {
        let reads = 0;
        while (!done || reads < 3) {
          reads++;
          if (k === 0) {
            const target = (await reader.aliases())['production'];
            seen.add(String(target));
          } else {
            const { manifest } = await reader.get('production');
            seen.add(manifest.version);
          }
        }
        return reads;
      });
      await writer;
      const reads = await Promise.all(readers);
      expect(reads.every((r) => r >= 3)).toBe(true);
      expect([...seen].every((v) => v === a.version || v === b.version)).toBe(true);
      expect((await reg.history('production')).length).toBe(flips + 1);
    });

    it('shares state between two clients of the same store', async () => {
      const other = h.reopen ? await h.reopen() : reg;
      const a = await registerOne(reg, 'a');
      await other.setAlias('staging', a.version, { actor: 'other' });
      expect(await reg.aliases()).toEqual({ staging: a.version });
      expect((await other.list()).map((m) => m.version)).toEqual([a.version]);
      expect((await reg.history('staging'))[0]?.actor).toBe('other');
    });
  });
}
