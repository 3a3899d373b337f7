import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Warehouse } from '@skiff/core';
import { createDuckDbWarehouse } from './create-duckdb-warehouse.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function ev(session: string, item: string | null, t: number, type = 'click') {
  return JSON.stringify({ session_id: session, event_type: type, item_id: item, timestamp: new Date(t).toISOString() });
}

describe('DuckDB warehouse', () => {
  let dir: string;
  let wh: Warehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-ingest-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function writeDays(name: string, days: number) {
    const lines: string[] = [];
    for (let d = 0; d < days; d++)
      for (let s = 0; s < 5; s++) {
        const id = `s${d}-${s}`;
        for (let i = 0; i < 3; i++) lines.push(ev(id, `i${(s + i) % 7}`, T0 + d * DAY + s * 60_000 + i * 1000));
      }
    const f = path.join(dir, name);
    await writeFile(f, lines.join('\n') + '\n');
    return f;
  }

  it('loads, quarantines bad rows with a reason, and counts everything', async () => {
    const f = path.join(dir, 'mixed.ndjson');
    await writeFile(
      f,
      [ev('a', 'i1', T0), '{not json', ev('a', 'i2', T0 + 1000), JSON.stringify({ session_id: 'a', event_type: 'teleport', item_id: 'x', timestamp: 1 }), ev('b', null, T0, 'view'), ev('b', null, T0, 'search')].join('\n'),
    );
    const r = await wh.load([f]);
    expect(r).toMatchObject({ rows: 6, loaded: 3, quarantined: 3, skipped: 0 });
    expect(r.loaded + r.quarantined).toBe(r.rows);
    const again = await wh.load([f]);
    expect(again).toMatchObject({ rows: 0, loaded: 0, skipped: 1 });
  });

  it('rolls the whole load back when one file fails', async () => {
    const good = await writeDays('a-good.ndjson', 1);
    const bad = path.join(dir, 'b-bad.txt');
    await writeFile(bad, 'x');
    await expect(wh.load([good, bad])).rejects.toThrow(/cannot detect the format/);
    // Nothing of the good file stayed behind, so loading it alone now loads it fully.
    const r = await wh.load([good]);
    expect(r).toMatchObject({ loaded: 15, skipped: 0 });
  });

  it('builds sessions, sequences and a time split, passes checks and snapshots the splits', async () => {
    await wh.load([await writeDays('days.ndjson', 6)]);
    const t = await wh.transform();
    expect(t.models.map((m) => m.name)).toEqual(['stg_events', 'sessions', 'session_sequences', 'splits', 'item_stats']);
    expect(t.models.find((m) => m.name === 'session_sequences')?.rows).toBe(30);
    const c = await wh.check();
    expect(c.passed).toBe(true);
    const snap = await wh.snapshot(path.join(dir, 'snapshots'));
    expect(snap.counts).toMatchObject({ train: 20, validation: 5, test: 5 });
    const test = JSON.parse(await readFile(snap.files.test, 'utf8')) as { sessions: string[][] };
    expect(test.sessions[0]).toEqual(['i0', 'i1', 'i2']);
    // Same data → same content-addressed snapshot id.
    expect((await wh.snapshot(path.join(dir, 'snapshots'))).snapshotId).toBe(snap.snapshotId);
  });

  it('fails checks loudly when there is no test data', async () => {
    await wh.load([await writeDays('one.ndjson', 1)]);
    await wh.transform();
    const c = await wh.check();
    // One day of data: the 10% split rule still gives a test split; remove it to see the check fail.
    expect(c.checks.find((x) => x.name === 'splits.test_not_empty')?.passed).toBe(true);
    const empty = await createDuckDbWarehouse({ path: path.join(dir, 'empty.duckdb') });
    await empty.transform();
    const e = await empty.check();
    await empty.close();
    expect(e.passed).toBe(false);
    expect(e.checks.filter((x) => !x.passed).map((x) => x.name)).toEqual(['splits.train_not_empty', 'splits.test_not_empty']);
  });
});
