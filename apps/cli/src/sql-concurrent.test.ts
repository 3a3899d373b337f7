import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@skiff/config';
import { silentLogger } from '@skiff/core';
import { openWarehouse } from '@skiff/runtime';
import { CLI_MAIN, runCliProcess } from './test-helpers/cli.js';

/**
 * `skiff sql` next to a running `skiff ingest`, both as real processes on one data dir: DuckDB's
 * file lock would make one of them fail if `skiff sql` opened the warehouse itself.
 */
describe('skiff sql never blocks skiff ingest', () => {
  let dataDir: string;
  const files: string[] = [];
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sql-ingest-'));
    for (const part of [1, 2, 3]) {
      const lines: string[] = [];
      for (let i = 0; i < 150_000; i++)
        lines.push(
          JSON.stringify({
            session_id: `p${part}-s${Math.floor(i / 5)}`,
            event_type: 'click',
            item_id: `i${i % 997}`,
            timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
          }),
        );
      const f = path.join(dataDir, `part${part}.ndjson`);
      await writeFile(f, lines.join('\n') + '\n');
      files.push(f);
    }
    // A warehouse to query from the start.
    const first = await runCliProcess(['ingest', files[0]!, '--data-dir', dataDir, '--log-level', 'error']);
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const sql = (q: string) => runCliProcess(['sql', q, '--json', '--data-dir', dataDir, '--log-level', 'error']);

  it('queries answer while an ingest runs, and the ingest is not blocked by queries', async () => {
    const ingest = spawn(
      process.execPath,
      [CLI_MAIN, 'ingest', files[1]!, '--data-dir', dataDir, '--log-level', 'error'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    ingest.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => ingest.once('exit', (code) => r(code)));
    let done = false;
    void exited.then(() => (done = true));
    const counts: number[] = [];
    const failures: string[] = [];
    while (!done) {
      const r = await sql('SELECT count(*)::INTEGER AS n FROM raw_events');
      if (r.code !== 0) failures.push(r.stderr);
      else counts.push((JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rows: Array<{ n: number }> }).rows[0]!.n);
    }
    expect(await exited, stderr).toBe(0);
    expect(failures).toEqual([]);
    expect(counts.length).toBeGreaterThan(0);
    // Each query saw a committed state: the first load, or both.
    for (const n of counts) expect([150_000, 300_000]).toContain(n);
    const after = await sql('SELECT count(*)::INTEGER AS n FROM raw_events');
    expect(JSON.parse(after.stdout.trim().split('\n').at(-1)!)).toEqual({ rows: [{ n: 300_000 }] });
  });

  it('a query runs while another process holds the warehouse open in the middle of a load, and that load then commits', async () => {
    // The writer is this process, through the same openWarehouse as `skiff ingest`. Its progress
    // callback runs inside the load's transaction; there `skiff sql` runs as a child process and
    // this process waits for it (spawnSync), so the query certainly overlaps the open load.
    const before = (await sql('SELECT count(*)::INTEGER AS n FROM raw_events')).stdout.trim().split('\n').at(-1)!;
    const seen: Array<{ code: number | null; stdout: string; stderr: string }> = [];
    const wh = await openWarehouse(loadConfig({ SKIFF_DATA_DIR: dataDir }), silentLogger, {
      onProgress: () => {
        if (seen.length > 0) return;
        const r = spawnSync(
          process.execPath,
          [CLI_MAIN, 'sql', 'SELECT count(*)::INTEGER AS n FROM raw_events', '--json', '--data-dir', dataDir],
          { encoding: 'utf8' },
        );
        seen.push({ code: r.status, stdout: r.stdout, stderr: r.stderr });
      },
    });
    try {
      const loaded = await wh.load([files[2]!]);
      expect(loaded.loaded).toBe(150_000);
    } finally {
      await wh.close();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code, seen[0]!.stderr).toBe(0);
    // The query saw the last committed state, not the half-done load.
    expect(seen[0]!.stdout.trim().split('\n').at(-1)).toBe(before);
    const after = await sql('SELECT count(*)::INTEGER AS n FROM raw_events');
    expect(JSON.parse(after.stdout.trim().split('\n').at(-1)!)).toEqual({ rows: [{ n: 450_000 }] });
  });

  it('refuses writes and file access with a one-line error', async () => {
    const r = await sql(`COPY raw_events TO '${path.join(dataDir, 'leak.csv')}'`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^skiff: BAD_INPUT: (skiff sql runs queries only|Permission Error: .* disabled by configuration)/,
    );
  });
});
