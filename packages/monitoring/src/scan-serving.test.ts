import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@skiff/core';
import { onlineQuality, predictionDescriptors, readOnlineEvents } from './online.js';
import { readServingLogs, scanServingLogs } from './run-monitor.js';

/** The streaming pass must give what the read-everything pass gave, and cap what it keeps. */
describe('scanServingLogs', () => {
  let dir: string;
  const rows = 5_000;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-scan-'));
    await mkdir(path.join(dir, 'serving'));
    await mkdir(path.join(dir, 'online'));
    const lines: string[] = [];
    const events: string[] = [];
    for (let i = 0; i < rows; i++) {
      const ts = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      lines.push(
        JSON.stringify({
          ts,
          requestId: `r${i}`,
          sessionId: `s${i}`,
          items: [`i${i % 17}`],
          k: 5,
          recommended: [0, 1, 2, 3, 4].map((j) => ({ itemId: `i${(i + j) % 23}`, score: 1 - j / 10 })),
        }),
      );
      if (i % 3 === 0)
        events.push(
          JSON.stringify({
            session_id: `s${i}`,
            event_type: 'click',
            item_id: `i${(i + (i % 7)) % 23}`,
            timestamp: ts,
            request_id: `r${i}`,
          }),
        );
    }
    lines.splice(10, 0, '{not json');
    await writeFile(path.join(dir, 'serving', 'serving-20260101-1-001.ndjson'), lines.join('\n') + '\n');
    await writeFile(path.join(dir, 'online', 'events-20260101-1-001.ndjson'), events.join('\n') + '\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('matches the read-everything pass below the cap, and keeps every record in file order', async () => {
    const { events } = await readOnlineEvents(path.join(dir, 'online'), silentLogger);
    const all = await readServingLogs(path.join(dir, 'serving'), null, silentLogger);
    const scan = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, { events, vocabularySize: 23 });
    expect(scan.rows).toBe(rows);
    expect(scan.sampled).toBe(rows);
    expect(scan.online).toEqual(onlineQuality(all, events));
    expect(scan.online.withNextEvent).toBe(Math.ceil(rows / 3));
    expect(scan.prediction).toEqual(predictionDescriptors(all, 23));
    expect(scan.sample.map((s) => s.sessionLength)).toEqual(all.map((r) => r.items.length));
    expect(scan.spanHours).toBeCloseTo(((rows - 1) * 60_000) / 3_600_000, 10);
  });

  it('keeps at most maxRows records for the drift columns (a seeded sample) but counts every record', async () => {
    const { events } = await readOnlineEvents(path.join(dir, 'online'), silentLogger);
    const a = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, { events, maxRows: 500 });
    const b = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, { events, maxRows: 500 });
    expect(a.sampled).toBe(500);
    expect(a.rows).toBe(rows);
    expect(a.online.withNextEvent).toBe(Math.ceil(rows / 3));
    expect(a.sample).toEqual(b.sample);
    // A uniform sample spans the whole log, not its first 500 records.
    const times = a.sample.map((s) => s.tsMs!);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(0.8 * (rows - 1) * 60_000);
  });
});
