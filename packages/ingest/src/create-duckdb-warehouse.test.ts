import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MonitoringRunRow, Warehouse } from '@skiff/core';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function ev(session: string, item: string | null, t: number, type = 'click') {
  return JSON.stringify({ session_id: session, event_type: type, item_id: item, timestamp: new Date(t).toISOString() });
}

describe('DuckDB warehouse', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
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
      [
        ev('a', 'i1', T0),
        '{not json',
        ev('a', 'i2', T0 + 1000),
        JSON.stringify({ session_id: 'a', event_type: 'teleport', item_id: 'x', timestamp: 1 }),
        ev('b', null, T0, 'view'),
        ev('b', null, T0, 'search'),
      ].join('\n'),
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
    // Loads run without insertion order kept; the connection gets it back, failed load or not.
    expect(await wh.query(`SELECT current_setting('preserve_insertion_order') AS v`)).toEqual([{ v: true }]);
  });

  it('builds sessions, sequences and a time split, passes checks and snapshots the splits', async () => {
    await wh.load([await writeDays('days.ndjson', 6)]);
    const t = await wh.transform();
    expect(t.models.map((m) => m.name)).toEqual([
      'stg_events',
      'sessions',
      'session_sequences',
      'splits',
      'item_stats',
    ]);
    expect(t.models.find((m) => m.name === 'session_sequences')?.rows).toBe(30);
    const c = await wh.check();
    expect(c.passed).toBe(true);
    const snap = await wh.snapshot(path.join(dir, 'snapshots'));
    // Split by last event (session-rec): day 4's last session ends exactly one day before the newest
    // event, so it is test with day 5; validation is the day before what remains.
    expect(snap.counts).toMatchObject({ train: 18, validation: 6, test: 6 });
    const test = JSON.parse(await readFile(snap.files.test, 'utf8')) as { sessions: string[][] };
    expect(test.sessions[0]).toEqual(['i4', 'i5', 'i6']);
    // Same data → same content-addressed snapshot id.
    expect((await wh.snapshot(path.join(dir, 'snapshots'))).snapshotId).toBe(snap.snapshotId);
  });

  it("splits by each session's LAST event under the configured rule, and records the rule and the sizes", async () => {
    const lines: string[] = [];
    // Ten days of two sessions a day at 10:00 and 20:00, plus one session that starts on day 7 and
    // ends on day 9 (test under the last-day rule although it started long before the cut).
    for (let d = 0; d < 10; d++)
      for (const h of [10, 20])
        for (let i = 0; i < 3; i++)
          lines.push(ev(`d${d}h${h}`, `i${(d + i) % 4}`, T0 + d * DAY + h * 3_600_000 + i * 1000));
    lines.push(ev('long', 'i0', T0 + 7 * DAY + 3_600_000), ev('long', 'i1', T0 + 9 * DAY + 21 * 3_600_000));
    const f = path.join(dir, 'ten.ndjson');
    await writeFile(f, lines.join('\n') + '\n');
    await wh.load([f]);
    const read = async (p: string) =>
      JSON.parse(await readFile(p, 'utf8')) as { sessions: string[][]; endedAt: string[] };

    await wh.transform();
    expect((await wh.check()).passed).toBe(true);
    const s1 = await wh.snapshot(path.join(dir, 'snapshots'));
    // Newest event: day 9 21:00 → test = sessions ending from day 8 21:00 on; validation = the day
    // before the newest remaining end (day 8 20:00): from day 7 20:00 on.
    expect(s1.counts).toMatchObject({ train: 15, validation: 3, test: 3 });
    expect((await read(s1.files.test)).sessions).toContainEqual(['i0', 'i1']);
    expect((await read(s1.files.test)).endedAt).toHaveLength(3);
    expect(s1.split).toMatchObject({
      rule: { rule: 'last-days', testDays: 1 },
      testStart: '2026-01-09T21:00:00.000Z',
      validationStart: '2026-01-08T20:00:02.000Z',
    });
    expect(s1.split!.test).toMatchObject({
      sessions: 3,
      events: 8,
      predictions: 5,
      removedEvents: 0,
      droppedSessions: 0,
    });
    expect(s1.split!.train).toMatchObject({ sessions: 15, events: 45 });

    await wh.transform({ split: { rule: 'last-days', testDays: 2, validationDays: 3 } });
    expect((await wh.snapshot(path.join(dir, 'snapshots'))).counts).toMatchObject({ train: 9, validation: 7, test: 5 });

    await wh.transform({
      split: { rule: 'dates', validationStart: '2026-01-05T00:00:00Z', testStart: '2026-01-08T00:00:00Z' },
    });
    const s3 = await wh.snapshot(path.join(dir, 'snapshots'));
    expect(s3.counts).toMatchObject({ train: 8, validation: 6, test: 7 });
    expect(s3.split?.rule).toEqual({
      rule: 'dates',
      validationStart: '2026-01-05T00:00:00Z',
      testStart: '2026-01-08T00:00:00Z',
    });

    await wh.transform({ split: { rule: 'fraction', testFraction: 0.5, validationFraction: 0.5 } });
    const s4 = await wh.snapshot(path.join(dir, 'snapshots'));
    expect(s4.counts.test).toBeGreaterThan(s4.counts.validation);
    expect(s4.counts.validation).toBeGreaterThan(0);

    await expect(
      wh.transform({
        split: {
          rule: 'dates',
          validationStart: '2026-01-08T00:00:00Z',
          testStart: "2026-01-05'; DROP TABLE raw_events; --",
        },
      }),
    ).rejects.toThrow(/invalid split rule/);
    await expect(wh.transform({ split: { rule: 'last-days', testDays: -1 } })).rejects.toThrow(
      /invalid split rule: testDays/,
    );
  });

  it("snapshots carry each session's start time (aligned with sessions) and an items.json of the latest category and price", async () => {
    const e = (session: string, item: string, t: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        session_id: session,
        event_type: 'click',
        item_id: item,
        timestamp: new Date(t).toISOString(),
        ...extra,
      });
    const lines: string[] = [];
    // Six days, two sessions a day at 09:15 and 21:40 UTC, so every split has sessions.
    for (let d = 0; d < 6; d++)
      for (const [k, minute] of [
        [0, 9 * 60 + 15],
        [1, 21 * 60 + 40],
      ] as const) {
        const start = T0 + d * DAY + minute * 60_000;
        lines.push(e(`d${d}-${k}`, `i${k}`, start), e(`d${d}-${k}`, `i${k + 2}`, start + 5_000));
      }
    // Catalog: i0 changes category later on, its price stays from the earlier event when the later one has none;
    // i1 only ever has a price; i2 and i3 nothing.
    const at = (d: number) => T0 + d * DAY + (9 * 60 + 15) * 60_000;
    lines.push(
      e('x', 'i0', at(1), { event_type: 'view', category: 'shoes', price: 10 }),
      e('x', 'i0', at(2), { event_type: 'view', category: 'boots' }),
      e('x', 'i0', at(3), { event_type: 'view', category: null, price: null }),
      e('y', 'i1', at(4), { event_type: 'purchase', price: 12.5 }),
      e('y', 'i1', at(3), { event_type: 'purchase', price: 99 }), // older: not the latest
    );
    const f = path.join(dir, 'catalog.ndjson');
    await writeFile(f, lines.join('\n') + '\n');
    await wh.load([f]);
    await wh.transform();
    const snap = await wh.snapshot(path.join(dir, 'snapshots'));
    type Split = { sessions: string[][]; startedAt: string[] };
    const read = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as Split;
    const splits = await Promise.all([snap.files.train, snap.files.validation, snap.files.test].map(read));
    for (const s of splits) {
      expect(s.startedAt).toHaveLength(s.sessions.length);
      for (const t of s.startedAt) expect(t).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      // Sessions are ordered by start.
      expect([...s.startedAt].sort()).toEqual(s.startedAt);
    }
    const train = splits[0]!;
    expect(train.sessions[0]).toEqual(['i0', 'i2']);
    expect(train.startedAt[0]).toBe('2026-01-01T09:15:00.000Z');
    expect(train.sessions[1]).toEqual(['i1', 'i3']);
    expect(train.startedAt[1]).toBe('2026-01-01T21:40:00.000Z');
    // Every start time is one of the two hours of day written above (what the monitor's hour_of_day reads).
    expect(new Set(splits.flatMap((s) => s.startedAt.map((t) => new Date(t).getUTCHours())))).toEqual(new Set([9, 21]));
    const items = JSON.parse(await readFile(path.join(snap.dir, 'items.json'), 'utf8')) as Record<string, unknown>;
    expect(items).toEqual({
      i0: { category: 'boots', price: 10 },
      i1: { category: null, price: 12.5 },
      i2: { category: null, price: null },
      i3: { category: null, price: null },
    });
  });

  it('records monitoring runs in monitoring_runs, one row per run, creating the table when missing', async () => {
    const before = await wh.query<{ n: string }>(
      `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'monitoring_runs'`,
    );
    expect(Number(before[0]?.n)).toBe(0);
    const first: MonitoringRunRow = {
      runAt: '2026-03-01T10:15:30.250Z',
      modelVersion: 'v0003',
      datasetDrift: true,
      share: 0.6,
      driftShare: 0.5,
      referenceRows: 12_000,
      currentRows: 345,
      driftedColumns: ['prefix_length', 'hour_of_day', 'it\'s "quoted"'],
      onlineHr20: 0.42,
      reportPath: '/data/reports/2026-03-01T10-15-30-250Z/report.html',
      qualityDrop: true,
    };
    const second: MonitoringRunRow = {
      ...first,
      runAt: '2026-03-01T12:00:00+01:00',
      modelVersion: null,
      datasetDrift: false,
      share: 0,
      driftedColumns: [],
      onlineHr20: null,
      reportPath: 'r2.html',
      qualityDrop: null,
    };
    // Through the port type, where the method is optional.
    const port: Warehouse = wh;
    await port.recordMonitoringRun!(first);
    await port.recordMonitoringRun!(second);
    const runs = await wh.query(
      `SELECT strftime(run_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS run_at, model_version, dataset_drift, share, drift_share, reference_rows::INTEGER AS reference_rows,
              current_rows::INTEGER AS current_rows, drifted_columns, online_hr20, report_path, quality_drop FROM monitoring_runs ORDER BY run_at`,
    );
    expect(runs).toEqual([
      {
        run_at: '2026-03-01T10:15:30.250Z',
        model_version: 'v0003',
        dataset_drift: true,
        share: 0.6,
        drift_share: 0.5,
        reference_rows: 12000,
        current_rows: 345,
        drifted_columns: ['prefix_length', 'hour_of_day', 'it\'s "quoted"'],
        online_hr20: 0.42,
        report_path: first.reportPath,
        quality_drop: true,
      },
      {
        run_at: '2026-03-01T11:00:00.000Z',
        model_version: null,
        dataset_drift: false,
        share: 0,
        drift_share: 0.5,
        reference_rows: 12000,
        current_rows: 345,
        drifted_columns: [],
        online_hr20: null,
        report_path: 'r2.html',
        quality_drop: null,
      },
    ]);
    const types = await wh.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'monitoring_runs' ORDER BY column_index`,
    );
    expect(types.find((c) => c.column_name === 'drifted_columns')?.data_type).toBe('VARCHAR[]');
    // A table created before quality_drop existed gets the column on the next run (old rows: NULL).
    const old = await createDuckDbWarehouse({ path: path.join(dir, 'old.duckdb') });
    await old.query(
      `CREATE TABLE monitoring_runs (run_at TIMESTAMP NOT NULL, model_version VARCHAR, dataset_drift BOOLEAN NOT NULL, share DOUBLE NOT NULL, drift_share DOUBLE NOT NULL,
         reference_rows BIGINT NOT NULL, current_rows BIGINT NOT NULL, drifted_columns VARCHAR[] NOT NULL, online_hr20 DOUBLE, report_path VARCHAR NOT NULL);
       INSERT INTO monitoring_runs VALUES ('2026-01-01', 'v0001', false, 0, 0.5, 1, 1, [], NULL, 'old.html')`,
    );
    await old.recordMonitoringRun(first);
    expect(await old.query(`SELECT report_path, quality_drop FROM monitoring_runs ORDER BY run_at`)).toEqual([
      { report_path: 'old.html', quality_drop: null },
      { report_path: first.reportPath, quality_drop: true },
    ]);
    await old.close();
    // Runs survive reopening the file, and a bad time is refused before anything is written.
    await wh.close();
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
    await expect(wh.recordMonitoringRun({ ...first, runAt: 'yesterday' })).rejects.toThrow(/runAt "yesterday"/);
    expect(await wh.query(`SELECT count(*)::INTEGER AS n FROM monitoring_runs`)).toEqual([{ n: 2 }]);
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
    expect(e.checks.filter((x) => !x.passed).map((x) => x.name)).toEqual([
      'splits.train_not_empty',
      'splits.test_not_empty',
    ]);
  });
});
