import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import { runMonitor } from './run-monitor.js';

describe('runMonitor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mon-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function setup(servingItems: string[][]) {
    // 40 items; popularity falls with the index. Sessions of length 2..6.
    const train: string[][] = [];
    for (let s = 0; s < 600; s++) train.push(Array.from({ length: 2 + (s % 5) }, (_, i) => `i${(s * 7 + i * i) % (5 + (s % 35))}`));
    await mkdir(path.join(dir, 'snapshots', 'snap-a'), { recursive: true });
    await writeFile(path.join(dir, 'snapshots', 'snap-a', 'train.json'), JSON.stringify({ sessions: train }));
    const art = path.join(dir, 'art');
    await mkdir(art);
    await writeFile(path.join(art, 'model.json'), '{}');
    const registry = createFsRegistry({ root: path.join(dir, 'registry') });
    const m = await registry.register({ name: 'm', sourceDir: art, metrics: {}, params: {}, lineage: { snapshotId: 'snap-a', loadIds: [], codeVersion: 't', backend: 'wasm' } });
    await registry.setAlias('production', m.version);
    await mkdir(path.join(dir, 'serving'));
    const lines = servingItems.map((items) => JSON.stringify({ ts: new Date().toISOString(), items, recommended: [{ itemId: 'i1', score: 0.5 }] }));
    await writeFile(path.join(dir, 'serving', 'serving-1.ndjson'), lines.join('\n') + '\nnot json\n');
    return { registry, train };
  }

  const run = (registry: ReturnType<typeof createFsRegistry>) =>
    runMonitor({ registry, servingLogDir: path.join(dir, 'serving'), snapshotsDir: path.join(dir, 'snapshots'), reportsDir: path.join(dir, 'reports'), logger: silentLogger });

  it('finds no drift when serving traffic looks like training', async () => {
    const train: string[][] = [];
    for (let s = 0; s < 600; s++) train.push(Array.from({ length: 2 + (s % 5) }, (_, i) => `i${(s * 7 + i * i) % (5 + (s % 35))}`));
    const prefixes = train.slice(0, 300).flatMap((s) => s.slice(1).map((_, i) => s.slice(0, i + 1)));
    const { registry } = await setup(prefixes);
    const r = await run(registry);
    expect(r.modelVersion).toBe('v0001');
    expect(r.columns.map((c) => c.column)).toEqual(['session_length', 'item_popularity_bucket']);
    expect(r.datasetDrift).toBe(false);
    const html = await readFile(r.htmlPath, 'utf8');
    expect(html).toContain('<svg');
    expect(JSON.parse(await readFile(r.snapshotPath, 'utf8'))).toHaveProperty('metric_results');
  });

  it('detects drift when sessions are long and items unknown', async () => {
    const drifted = Array.from({ length: 400 }, (_, s) => Array.from({ length: 10 + (s % 10) }, (_, i) => `new${s + i}`));
    const { registry } = await setup(drifted);
    const r = await run(registry);
    expect(r.datasetDrift).toBe(true);
    expect(r.columns.every((c) => c.drifted)).toBe(true);
    expect(r.currentRows).toBe(400);
  });
});
