import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type ModelRegistry } from '@skiff/core';
import { onlineQuality, qualityVerdict, readOnlineEvents, readServingLogs } from '@skiff/monitoring';
import { createFsRegistry } from '@skiff/registry';
import { startServer, type RunningServer } from './server.js';
import { lineage, load, post, writeArtifact } from './test-helpers/fixed-server.js';

const ITEMS = Array.from({ length: 40 }, (_, i) => `i${String(i).padStart(2, '0')}`);

/** sha256 over every file of a folder (names and bytes): what the training pipeline would read from it. */
async function folderDigest(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of (await readdir(dir).catch(() => [] as string[])).sort())
    h.update(f)
      .update('\0')
      .update(await readFile(path.join(dir, f)))
      .update('\0');
  return h.digest('hex');
}

/**
 * Hundreds of forged events through the real server — times in the future, request ids the server
 * never issued or issued for another session, huge ids — must change nothing that training,
 * evaluation or the quality gate read, and must be counted as refused.
 */
describe('online events cannot be poisoned from outside', () => {
  let dir: string;
  let reg: ModelRegistry;
  let server: RunningServer | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-poison-'));
    reg = createFsRegistry({ root: path.join(dir, 'registry') });
    await writeArtifact(path.join(dir, 'a1'), ITEMS);
    const v = (
      await reg.register({
        name: 'fixed',
        sourceDir: path.join(dir, 'a1'),
        metrics: { 'hr@20': 0.5 },
        params: {},
        lineage,
      })
    ).version;
    await reg.setAlias('production', v);
  });
  afterEach(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses and counts forged events; the events log, online quality and verdict stay as they were', async () => {
    const servingDir = path.join(dir, 'raw', 'serving');
    const eventsDir = path.join(dir, 'online');
    const start = () =>
      startServer({
        registry: reg,
        load,
        servingLogDir: servingDir,
        eventsDir,
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger,
        requestIdSecret: 'x'.repeat(32),
        servingLog: { flushMs: 5 },
      });
    server = await start();
    let url = server.url;

    // Honest traffic: 60 sessions; the click of every other one is in the list (a hit), the rest are not.
    const issued: Array<{ sessionId: string; requestId: string }> = [];
    for (let s = 0; s < 60; s++) {
      const sessionId = `user-${s}`;
      const r = (await (await post(url + '/v1/recommendations', { items: ['i01'], k: 20, sessionId })).json()) as {
        requestId: string;
        items: Array<{ itemId: string }>;
      };
      issued.push({ sessionId, requestId: r.requestId });
      const itemId = s % 2 === 0 ? r.items[3]!.itemId : 'i39';
      const ev = (await (
        await post(url + '/v1/events', { events: [{ sessionId, itemId, requestId: r.requestId }] })
      ).json()) as { accepted: number };
      expect(ev.accepted).toBe(1);
    }
    // Restart (flushes the logs) and measure what the monitor would see.
    await server.close();
    server = await start();
    url = server.url;
    const gate = { metric: 'hr@20' as const, maxRelativeDrop: 0.2, minEvents: 50 };
    const measure = async () => {
      const rows = await readServingLogs(servingDir, null, silentLogger);
      const { events } = await readOnlineEvents(eventsDir, silentLogger);
      const online = onlineQuality(rows, events);
      return { online, verdict: qualityVerdict(gate, online, { 'hr@20': 0.5 }) };
    };
    const before = await measure();
    const digestBefore = await folderDigest(eventsDir);
    expect(before.online.withNextEvent).toBe(60);
    expect(before.online['hr@20']).toBeCloseTo(0.5, 10);
    expect(before.verdict.dropped).toBe(false);

    // The attack: 500 forged events in posts of 50.
    const forged: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100; i++) forged.push({ ...issued[i % 60]!, itemId: 'i39', ts: '2099-01-01T00:00:00Z' }); // future client time, real ids
    for (let i = 0; i < 100; i++)
      forged.push({ sessionId: issued[i % 60]!.sessionId, itemId: 'i39', requestId: randomUUID() }); // ids never issued
    for (let i = 0; i < 100; i++)
      forged.push({ sessionId: issued[(i + 1) % 60]!.sessionId, itemId: 'i39', requestId: issued[i % 60]!.requestId }); // another session's id
    for (let i = 0; i < 100; i++)
      forged.push({
        sessionId: issued[i % 60]!.sessionId,
        itemId: 'i39',
        requestId: `${issued[i % 60]!.requestId.split('.')[0]}.${'A'.repeat(43)}`,
      }); // a guessed signature
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < forged.length; i += 50) {
      const r = (await (await post(url + '/v1/events', { events: forged.slice(i, i + 50) })).json()) as {
        accepted: number;
        refused: number;
      };
      accepted += r.accepted;
      refused += r.refused;
    }
    // Huge ids: the whole post is refused (400) and its events are counted.
    const huge = Array.from({ length: 100 }, (_, i) => ({
      sessionId: 's'.repeat(10_000),
      itemId: 'x'.repeat(1_000),
      requestId: issued[i % 60]!.requestId,
    }));
    for (let i = 0; i < huge.length; i += 20)
      expect((await post(url + '/v1/events', { events: huge.slice(i, i + 20) })).status).toBe(400);
    expect(accepted).toBe(0);
    expect(refused).toBe(400);

    const metrics = await (await fetch(url + '/metrics')).text();
    const count = (reason: string) =>
      Number(new RegExp(`skiff_events_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(count('future_client_time')).toBe(100);
    expect(count('unverified_request_id')).toBe(300);
    expect(count('invalid')).toBe(100);

    await server.close();
    server = null;
    // Nothing reached the events log (what training reads when configured), so the split, the test
    // metrics computed on it and the online quality verdict are the same.
    expect(await folderDigest(eventsDir)).toBe(digestBefore);
    const after = await measure();
    expect(after.online).toEqual(before.online);
    expect(after.verdict).toEqual(before.verdict);
  });
});
