import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@skiff/config';
import { silentLogger } from '@skiff/core';
import { runMonitor } from '@skiff/monitoring';
import { createFsRegistry } from '@skiff/registry';
import { createCatalogue, generateSessions, type DriftScenario } from '@skiff/simulator';
import { sequences } from './test-helpers/sessions.js';

/**
 * Each simulator scenario through the real monitor: the column the scenario is
 * about drifts, and calm traffic drifts nowhere. Reference = a training snapshot with its
 * items.json, as the warehouse writes it; current = serving records of every prefix. The volumes are
 * the demo's (about 1,000 served sessions of two items or more): much less calm traffic "drifts" by
 * chance, since a session's items share its intent. Dataset drift (what starts a retraining run)
 * is judged with the configuration's default share, as the monitoring activity does.
 */
const catalogue = createCatalogue({ items: 500, seed: 11 });
const start = new Date(Date.UTC(2026, 0, 1));

describe('simulator drift scenarios through runMonitor', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-scenarios-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function monitor(name: string, drift: DriftScenario | undefined) {
    const root = path.join(dir, name);
    const snap = path.join(root, 'snapshots', 'snap-a');
    await mkdir(snap, { recursive: true });
    const train = sequences(generateSessions({ catalogue, sessions: 6_000, seed: 1, start, days: 5 }));
    await writeFile(path.join(snap, 'train.json'), JSON.stringify({ sessions: train }));
    await writeFile(
      path.join(snap, 'items.json'),
      JSON.stringify(Object.fromEntries(catalogue.items.map((i) => [i.id, { category: i.category, price: i.price }]))),
    );
    await mkdir(path.join(root, 'art'), { recursive: true });
    await writeFile(path.join(root, 'art', 'model.json'), '{}');
    const registry = createFsRegistry({ root: path.join(root, 'registry') });
    const v = await registry.register({
      name: 'm',
      sourceDir: path.join(root, 'art'),
      metrics: {},
      params: {},
      lineage: { snapshotId: 'snap-a', loadIds: [], codeVersion: 't', backend: 'wasm' },
    });
    await registry.setAlias('production', v.version);
    const traffic = sequences(
      generateSessions({ catalogue, sessions: 2_000, seed: 2, start, days: 1, ...(drift ? { drift } : {}) }),
    );
    // As the serving app logs them: every prefix of a session, under the session's id.
    const lines = traffic.flatMap((s, si) =>
      s
        .slice(1)
        .map((_, i) =>
          JSON.stringify({ ts: start.toISOString(), sessionId: `t${si}`, items: s.slice(0, i + 1), recommended: [] }),
        ),
    );
    await mkdir(path.join(root, 'serving'), { recursive: true });
    await writeFile(path.join(root, 'serving', 'serving-1.ndjson'), lines.join('\n') + '\n');
    const r = await runMonitor({
      registry,
      servingLogDir: path.join(root, 'serving'),
      snapshotsDir: path.join(root, 'snapshots'),
      reportsDir: path.join(root, 'reports'),
      logger: silentLogger,
      driftShare: loadConfig({}).driftShare,
    });
    return {
      r,
      drifted: r.columns
        .filter((c) => c.drifted)
        .map((c) => c.column)
        .sort(),
    };
  }

  it('no drift: no column drifts', async () => {
    const { r, drifted } = await monitor('calm', undefined);
    expect(r.columns.map((c) => c.column)).toEqual(['session_length', 'item_popularity_bucket', 'category']);
    expect(drifted).toEqual([]);
    expect(r.datasetDrift).toBe(false);
  });

  it('category drift: the category column drifts', async () => {
    const { r, drifted } = await monitor('category', { kind: 'category-shift' });
    expect(drifted).toContain('category');
    expect(drifted).not.toContain('session_length');
    expect(r.datasetDrift).toBe(true);
  });

  it('popularity drift: the popularity bucket drifts', async () => {
    const { r, drifted } = await monitor('popularity', { kind: 'popularity-shift' });
    expect(drifted).toContain('item_popularity_bucket');
    expect(drifted).not.toContain('session_length');
    expect(r.datasetDrift).toBe(true);
  });

  it('session-length drift: session_length drifts', async () => {
    const { r, drifted } = await monitor('longer', { kind: 'longer-sessions' });
    expect(drifted).toContain('session_length');
    expect(r.datasetDrift).toBe(true);
  });
});
