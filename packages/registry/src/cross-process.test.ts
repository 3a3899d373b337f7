/**
 * Two processes writing one fs registry: registrations and alias moves from separate processes
 * (the worker and the CLI, or two workers) must all land intact, and readers never see a torn
 * aliases.json. The child processes run the built package (dist/), rebuilt here when stale.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listFiles } from '@skiff/node-io';
import { createFsRegistry } from './create-fs-registry.js';

const run = promisify(execFile);
const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const worker = path.join(pkg, 'src', 'test-helpers', 'worker.mjs');
const lineage = { snapshotId: 's', loadIds: [], codeVersion: 't', backend: 'wasm' };

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const f of await listFiles(dir)) t = Math.max(t, (await stat(path.join(dir, f))).mtimeMs);
  return t;
}

beforeAll(async () => {
  const built = await stat(path.join(pkg, 'dist', 'index.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built < (await newest(path.join(pkg, 'src'))))
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'inherit' });
});

describe('fs registry across processes', () => {
  let dir: string;
  let root: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-xproc-'));
    root = path.join(dir, 'reg');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('lands concurrent registrations from two processes intact', async () => {
    const per = 15;
    const at = String(Date.now() + 700);
    const [a, b] = await Promise.all([
      run(process.execPath, [worker, root, at, 'register', 'a', String(per)]),
      run(process.execPath, [worker, root, at, 'register', 'b', String(per)]),
    ]);
    const got = [...(JSON.parse(a.stdout) as string[]), ...(JSON.parse(b.stdout) as string[])].sort();
    expect(got).toEqual(Array.from({ length: 2 * per }, (_, i) => `v${String(i + 1).padStart(4, '0')}`));
    const reg = createFsRegistry({ root });
    const seen = new Set<string>();
    const order: string[] = [];
    for (const m of await reg.list()) {
      const { manifest, dir: vdir } = await reg.get(m.version); // re-hashes every file
      const content = JSON.parse(await readFile(path.join(vdir, 'model.json'), 'utf8')) as { who: string; i: number };
      expect(content).toEqual({ who: manifest.params['who'], i: manifest.params['i'] });
      seen.add(`${content.who}${content.i}`);
      order.push(content.who);
    }
    expect(seen.size).toBe(2 * per);
    // The start barrier made the two writers overlap (their versions interleave).
    expect(order.join('')).not.toMatch(/^(a+b+|b+a+)$/);
    // no staging leftovers
    expect((await listFiles(root)).filter((f) => f.startsWith('.staging'))).toEqual([]);
  });

  it('moves aliases atomically while another process reads, and keeps history consistent', async () => {
    const reg = createFsRegistry({ root });
    const src = path.join(dir, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'model.json'), '{}');
    const v1 = (await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage })).version;
    const v2 = (await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: {}, lineage })).version;
    await reg.setAlias('production', v1);
    const flips = 60;
    const at = String(Date.now() + 700);
    const writers = Promise.all([
      run(process.execPath, [worker, root, at, 'flip', 'production', v1, v2, String(flips), 'proc-a']),
      run(process.execPath, [worker, root, at, 'flip', 'production', v2, v1, String(flips), 'proc-b']),
    ]);
    let finished = false;
    void writers.finally(() => (finished = true));
    let reads = 0;
    while (!finished) {
      const raw = await readFile(path.join(root, 'aliases.json'), 'utf8'); // never torn
      expect([v1, v2]).toContain((JSON.parse(raw) as Record<string, { version: string }>)['production']?.version);
      expect([v1, v2]).toContain((await reg.get('production')).manifest.version);
      reads++;
    }
    await writers;
    expect(reads).toBeGreaterThan(0);
    const history = await reg.history('production');
    expect(history).toHaveLength(1 + 2 * flips);
    // Serialised moves: each event starts where the previous one ended.
    for (let i = 1; i < history.length; i++) expect(history[i]!.from).toBe(history[i - 1]!.to);
    expect(new Set(history.slice(1).map((e) => e.actor))).toEqual(new Set(['proc-a', 'proc-b']));
    expect((await reg.aliases())['production']).toBe(history.at(-1)!.to);
  });
});
