import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@skiff/core';
import { currentSessionLengths } from './features.js';
import { scanServingLogs } from './run-monitor.js';
import { createSessionLengthSample } from './session-sample.js';

/** Session j has 1 + (7j mod 30) requests, the i-th with i items: its session_length is its request count. */
const sessions = 2_000;
const lengthOf = (j: number) => 1 + ((7 * j) % 30);
const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const trueMean = mean(Array.from({ length: sessions }, (_, j) => lengthOf(j)));

describe('session_length of a serving log larger than the sample', () => {
  let dir: string;
  let rows = 0;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-session-sample-'));
    await mkdir(path.join(dir, 'serving'));
    // Sessions interleave, as in real traffic: a long session's requests are spread over the log.
    const lines: string[] = [];
    for (let step = 0; step < 30; step++)
      for (let j = 0; j < sessions; j++) {
        if (step >= lengthOf(j)) continue;
        const ts = new Date(Date.UTC(2026, 0, 1) + rows++ * 1_000).toISOString();
        const items = Array.from({ length: step + 1 }, (_, i) => `i${(j + i) % 50}`);
        lines.push(JSON.stringify({ ts, sessionId: `s${j}`, items, k: 1, recommended: [{ itemId: 'i1', score: 1 }] }));
      }
    await writeFile(path.join(dir, 'serving', 'serving-20260101-1-001.ndjson'), lines.join('\n') + '\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is exact per session and unbiased when the log is sampled (whole sessions, not records)', async () => {
    const maxRows = 3_000; // ~32,000 records: about one in ten is kept for the other columns
    const scan = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, { events: new Map(), maxRows });
    expect(scan.rows).toBe(rows);
    expect(scan.sampled).toBe(maxRows);
    // 2,000 sessions fit under the cap: every one, with its exact length.
    expect(scan.sessionLengths).toHaveLength(sessions);
    expect(mean(scan.sessionLengths)).toBe(trueMean);
    // The naive estimate, the per-session maximum over the record sample, is far too low: the
    // reason session_length is computed over the whole-session sample.
    expect(mean(currentSessionLengths(scan.sample) as number[])).toBeLessThan(0.9 * trueMean);
  });

  it('keeps whole sessions with their exact lengths when there are more sessions than the cap', async () => {
    const scan = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, {
      events: new Map(),
      maxRows: 400,
    });
    expect(scan.sessionLengths).toHaveLength(400);
    // A uniform sample of sessions: its mean is the true mean within sampling error (sd of the mean ≈ 0.43).
    expect(Math.abs(mean(scan.sessionLengths) - trueMean)).toBeLessThan(1.5);
    const again = await scanServingLogs(path.join(dir, 'serving'), null, silentLogger, {
      events: new Map(),
      maxRows: 400,
    });
    expect(again.sessionLengths).toEqual(scan.sessionLengths);
  });

  it('gives every kept session its longest request, whatever order and interleaving the records come in', () => {
    const sample = createSessionLengthSample(100, 7);
    const truth = new Map<string, number>();
    for (let step = 0; step < 30; step++)
      for (let j = 0; j < 1_000; j++)
        if (step < lengthOf(j)) {
          // Lengths arrive out of order: the session's longest request is not its last record.
          const length = step === 0 ? lengthOf(j) : step;
          sample.add(`s${j}`, length);
          truth.set(`s${j}`, lengthOf(j));
        }
    sample.add(null, 3);
    const kept = sample.entries();
    expect(kept).toHaveLength(100);
    for (const [id, length] of kept) expect(length).toBe(truth.get(id) ?? 3);
  });
});
