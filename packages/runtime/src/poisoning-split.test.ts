/**
 * Forged follow-up events against `skiff serve` (startServing, with SKIFF_INGEST_ONLINE_EVENTS on,
 * so that training does read the online events) must not reach the training data: the pipeline's
 * own ingest → transform → snapshot → evaluate stages, on a real DuckDB warehouse, give the same
 * train/validation/test split and the same test metrics after the attack as before it, and the
 * server counts every forged event as refused.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPaths, loadConfig, type SkiffConfig } from '@skiff/config';
import { silentLogger, type DatasetSnapshot } from '@skiff/core';
import { createPopModel } from '@skiff/model';
import { createPipelineActivities } from '@skiff/pipeline';
import { buildPipelineDeps, buildRegistry } from './pipeline.js';
import { startServing } from './serving.js';

const ITEMS = Array.from({ length: 40 }, (_, i) => `i${String(i).padStart(2, '0')}`);
const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const configFor = (dataDir: string): SkiffConfig =>
  loadConfig({
    SKIFF_DATA_DIR: dataDir,
    SKIFF_INGEST_ONLINE_EVENTS: 'true',
    SKIFF_REQUEST_ID_SECRET: 'k'.repeat(32),
  });

/** The pipeline's data stages and an evaluation of the served artifact on the resulting test split. */
async function trainingView(config: SkiffConfig, artifactDir: string) {
  const acts = createPipelineActivities(buildPipelineDeps(config, silentLogger));
  await acts.ingest({});
  await acts.transform({});
  const snapshot: DatasetSnapshot = await acts.snapshot({});
  const split = Object.fromEntries(
    await Promise.all(
      (['train', 'validation', 'test'] as const).map(async (s) => [
        s,
        (JSON.parse(await readFile(snapshot.files[s], 'utf8')) as { sessions: string[][] }).sessions,
      ]),
    ),
  ) as Record<'train' | 'validation' | 'test', string[][]>;
  const evaluated = await acts.evaluate({ snapshot, artifactDir });
  return { split, counts: snapshot.counts, metrics: evaluated.metrics };
}

describe('forged online events do not change what training reads', () => {
  let root: string;
  let dataDir: string;
  let artifact: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'skiff-poison-split-'));
    dataDir = path.join(root, 'data');
    const raw = dataPaths(dataDir).raw;
    await mkdir(raw, { recursive: true });
    // Five days of shop sessions (3–6 items each) ending an hour ago.
    const end = Date.now() - 3_600_000;
    const lines: string[] = [];
    const sessions: string[][] = [];
    for (let s = 0; s < 600; s++) {
      const t0 = end - 5 * 86_400_000 + Math.floor((s / 600) * 5 * 86_400_000);
      const items = Array.from({ length: 3 + (s % 4) }, (_, j) => ITEMS[(s * 7 + j * 3) % ITEMS.length]!);
      sessions.push(items);
      items.forEach((item, j) =>
        lines.push(
          JSON.stringify({
            session_id: `shop-${s}`,
            event_type: 'click',
            item_id: item,
            timestamp: new Date(t0 + j * 60_000).toISOString(),
          }),
        ),
      );
    }
    await writeFile(path.join(raw, 'shop.ndjson'), lines.join('\n') + '\n');
    artifact = path.join(root, 'pop');
    await createPopModel(sessions).save(artifact);
    const registry = buildRegistry(configFor(dataDir));
    const m = await registry.register({
      name: 'pop',
      sourceDir: artifact,
      metrics: { 'hr@20': 0.5 },
      params: {},
      lineage: { snapshotId: 's', loadIds: [], codeVersion: 't', backend: 'js' },
    });
    await registry.setAlias('production', m.version);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('keeps the split and the test metrics of the next training run, and counts the forgeries as refused', async () => {
    const config = configFor(dataDir);
    let server = await startServing(config, silentLogger, { host: '127.0.0.1', port: 0 });
    // Honest online traffic: 60 sessions, each a recommendation and the two clicks that followed it.
    const issued: Array<{ sessionId: string; requestId: string }> = [];
    for (let s = 0; s < 60; s++) {
      const sessionId = `web-${s}`;
      const r = (await (
        await post(server.url + '/v1/recommendations', { items: ['i01'], k: 20, sessionId })
      ).json()) as {
        requestId: string;
      };
      issued.push({ sessionId, requestId: r.requestId });
      const events = [ITEMS[s % 40]!, ITEMS[(s + 5) % 40]!].map((itemId) => ({
        sessionId,
        itemId,
        requestId: r.requestId,
      }));
      expect(
        ((await (await post(server.url + '/v1/events', { events })).json()) as { accepted: number }).accepted,
      ).toBe(2);
    }
    await server.close();

    // What the next training run would read without an attack: the same files in a second data dir.
    const cleanDir = path.join(root, 'clean');
    await cp(dataDir, cleanDir, { recursive: true });

    // The attack: 400 forged events (future client times on real ids, ids never issued, another
    // session's ids, guessed signatures) and 100 with huge ids.
    server = await startServing(config, silentLogger, { host: '127.0.0.1', port: 0 });
    const forged: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100; i++) {
      const { sessionId, requestId } = issued[i % 60]!;
      forged.push({ sessionId, itemId: 'i39', requestId, ts: '2099-01-01T00:00:00Z' });
      forged.push({ sessionId, itemId: 'i39', requestId: randomUUID() });
      forged.push({ sessionId: issued[(i + 1) % 60]!.sessionId, itemId: 'i39', requestId });
      forged.push({ sessionId, itemId: 'i39', requestId: `${requestId.split('.')[0]}.${'A'.repeat(43)}` });
    }
    let refused = 0;
    for (let i = 0; i < forged.length; i += 50) {
      const r = (await (await post(server.url + '/v1/events', { events: forged.slice(i, i + 50) })).json()) as {
        accepted: number;
        refused: number;
      };
      expect(r.accepted).toBe(0);
      refused += r.refused;
    }
    const huge = Array.from({ length: 100 }, (_, i) => ({
      sessionId: 's'.repeat(10_000),
      itemId: 'x'.repeat(1_000),
      requestId: issued[i % 60]!.requestId,
    }));
    for (let i = 0; i < huge.length; i += 20)
      expect((await post(server.url + '/v1/events', { events: huge.slice(i, i + 20) })).status).toBe(400);
    expect(refused).toBe(400);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    const count = (reason: string) =>
      Number(new RegExp(`skiff_events_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect([count('future_client_time'), count('unverified_request_id'), count('invalid')]).toEqual([100, 300, 100]);
    await server.close();

    // The pipeline's data stages on both data dirs: the online sessions are in the data (so an
    // accepted forgery would have shown), and the split and the test metrics are the same.
    const attacked = await trainingView(config, artifact);
    const clean = await trainingView(configFor(cleanDir), artifact);
    const online = (split: string[][]) => split.filter((s) => s.length === 2).length;
    expect(online(attacked.split.test) + online(attacked.split.validation) + online(attacked.split.train)).toBe(60);
    expect(attacked.split).toEqual(clean.split);
    expect(attacked.counts).toEqual(clean.counts);
    expect(attacked.metrics).toEqual(clean.metrics);
    expect(attacked.metrics['hr@20']).toBeGreaterThan(0);
  }, 180_000);
});
