import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';
import { detectFormat } from './readers.js';

/** The tests write their Parquet files themselves, through DuckDB. */
let writer: DuckDBInstance;
let wconn: DuckDBConnection;
beforeAll(async () => {
  writer = await DuckDBInstance.create(':memory:');
  wconn = await writer.connect();
  await wconn.run(`SET TimeZone = 'UTC'`);
});
afterAll(() => {
  wconn.closeSync();
  writer.closeSync();
});

async function parquet(file: string, select: string, rowGroupSize = 122_880) {
  await wconn.run(
    `COPY (${select}) TO '${file.replaceAll("'", "''")}' (FORMAT parquet, ROW_GROUP_SIZE ${rowGroupSize})`,
  );
  return file;
}

const NO_USER_REASON = 'missing: session_id (and no user_id to sessionize by)';
const TELEPORT_REASON = 'value: event_type "teleport" is not one of view, click, add_to_cart, purchase, search';

describe('Parquet reader', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-parquet-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  const events = () =>
    wh.query(
      `SELECT line::INTEGER AS line, session_id, event_type, item_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') AS ts, user_id, price, category, query
       FROM raw_events ORDER BY source_file, line`,
    );
  const refused = () =>
    wh.query<{ line: number; reason: string; code: string; raw: string }>(
      `SELECT line::INTEGER AS line, code, reason, raw FROM quarantine ORDER BY source_file, line`,
    );

  it('loads typed columns (TIMESTAMP, integer ids), quarantines bad rows with a reason, counts every row, skips a file loaded before', async () => {
    // Columns in another order, an extra column, integer item ids, a microsecond TIMESTAMP.
    const f = await parquet(
      path.join(dir, 'events.parquet'),
      `SELECT * FROM (VALUES
        (1, 's1',  'click',    101, TIMESTAMP '2026-01-01 10:00:00.123456', NULL,  NULL, 'shoes', NULL),
        (2, NULL,  'click',    102, TIMESTAMP '2026-01-01 10:00:01',        NULL,  NULL, NULL,    NULL),
        (3, 's1',  'teleport', 103, TIMESTAMP '2026-01-01 10:00:02',        NULL,  NULL, NULL,    NULL),
        (4, 's1',  'click',    104, TIMESTAMP '1960-05-01 00:00:00',        NULL,  NULL, NULL,    NULL),
        (5, NULL,  'view',     105, TIMESTAMP '2026-01-01 10:00:04',        'u7',  NULL, NULL,    NULL),
        (6, 's1',  'purchase', 106, TIMESTAMP '2026-01-01 10:00:05',        NULL,  19.99, NULL,   NULL),
        (7, 's1',  'search',   NULL, TIMESTAMP '2026-01-01 10:00:06',       NULL,  NULL, NULL,    'red shoes'),
        (8, 's1',  'click',    NULL, TIMESTAMP '2026-01-01 10:00:07',       NULL,  NULL, NULL,    NULL),
        (9, 's1',  'click',    109, NULL,                                   NULL,  NULL, NULL,    NULL),
        (10, '',   'click',    110, TIMESTAMP '2026-01-01 10:00:09',        'u7',  NULL, NULL,    NULL),
        (11, 's1', 'purchase', 111, TIMESTAMP '2026-01-01 10:00:10',        NULL,  'NaN'::DOUBLE, NULL, NULL)
      ) t(n, session_id, event_type, item_id, timestamp, user_id, price, category, query)`,
    );
    const r = await wh.load([f]);
    expect(r.files[0]).toMatchObject({
      format: 'parquet',
      detectedBy: 'extension .parquet',
      engine: 'duckdb',
      rows: 11,
      loaded: 5,
      quarantined: 6,
      skippedRows: 0,
      skipped: false,
    });
    expect(r).toMatchObject({ rows: 11, loaded: 5, quarantined: 6, skippedRows: 0 });
    expect(await events()).toEqual([
      {
        line: 1,
        session_id: 's1',
        event_type: 'click',
        item_id: '101',
        ts: '2026-01-01T10:00:00.123',
        user_id: null,
        price: null,
        category: 'shoes',
        query: null,
      },
      {
        line: 5,
        session_id: null,
        event_type: 'view',
        item_id: '105',
        ts: '2026-01-01T10:00:04.000',
        user_id: 'u7',
        price: null,
        category: null,
        query: null,
      },
      {
        line: 6,
        session_id: 's1',
        event_type: 'purchase',
        item_id: '106',
        ts: '2026-01-01T10:00:05.000',
        user_id: null,
        price: 19.99,
        category: null,
        query: null,
      },
      {
        line: 7,
        session_id: 's1',
        event_type: 'search',
        item_id: null,
        ts: '2026-01-01T10:00:06.000',
        user_id: null,
        price: null,
        category: null,
        query: 'red shoes',
      },
      // An empty session id is absent, as in the other readers: sessionized by user.
      {
        line: 10,
        session_id: null,
        event_type: 'click',
        item_id: '110',
        ts: '2026-01-01T10:00:09.000',
        user_id: 'u7',
        price: null,
        category: null,
        query: null,
      },
    ]);
    const q = await refused();
    expect(q.map(({ line, code, reason }) => ({ line, code, reason }))).toEqual([
      { line: 2, code: 'missing', reason: NO_USER_REASON },
      { line: 3, code: 'value', reason: TELEPORT_REASON },
      { line: 4, code: 'timestamp', reason: 'timestamp: "1960-05-01T00:00:00.000Z" is not ISO-8601 or epoch s/ms' },
      { line: 8, code: 'missing', reason: 'missing: item_id is required for click events' },
      { line: 9, code: 'missing', reason: 'missing: timestamp' },
      { line: 11, code: 'value', reason: 'value: price "nan" is not a finite number' },
    ]);
    // The raw text of a refused row is the whole row (every column) as JSON.
    expect(JSON.parse(q[1]!.raw)).toMatchObject({ n: 3, session_id: 's1', event_type: 'teleport', item_id: 103 });
    expect((await wh.check()).checks.find((c) => c.name === 'loads.accounting')).toMatchObject({ passed: true });
    // The same bytes again: skipped by sha256, nothing written.
    const again = await wh.load([f]);
    expect(again).toMatchObject({ rows: 0, loaded: 0, quarantined: 0, skipped: 1 });
    expect(await wh.query(`SELECT count(*)::INTEGER AS n FROM loads`)).toEqual([{ n: 1 }]);
  });

  it('reads timestamps as epoch seconds, epoch milliseconds, ISO strings and TIMESTAMPTZ', async () => {
    const t = '2026-01-01T10:00:00.250';
    const files = [
      await parquet(
        path.join(dir, 'a-epoch-s.parquet'),
        `SELECT 's' AS session_id, 'click' AS event_type, 'i' AS item_id, 1767261600.25::DOUBLE AS timestamp`,
      ),
      await parquet(
        path.join(dir, 'b-epoch-ms.parquet'),
        `SELECT 's' AS session_id, 'click' AS event_type, 'i' AS item_id, 1767261600250::BIGINT AS timestamp`,
      ),
      await parquet(
        path.join(dir, 'c-iso.parquet'),
        `SELECT 's' AS session_id, 'click' AS event_type, 'i' AS item_id, '2026-01-01T12:00:00.250+02:00' AS timestamp`,
      ),
      await parquet(
        path.join(dir, 'd-tz.parquet'),
        `SELECT 's' AS session_id, 'click' AS event_type, 'i' AS item_id, TIMESTAMPTZ '2026-01-01 11:00:00.250+01' AS "Timestamp"`,
      ),
      await parquet(
        path.join(dir, 'e-epoch-s-int.parquet'),
        `SELECT 's' AS session_id, 'click' AS event_type, 'i' AS item_id, 1767261600::INTEGER AS timestamp`,
      ),
    ];
    const r = await wh.load([dir]);
    expect(r.files.map((f) => [path.basename(f.path), f.loaded, f.quarantined])).toEqual(
      files.map((f) => [path.basename(f), 1, 0]),
    );
    expect((await events()).map((e) => e['ts'])).toEqual([t, t, t, t, '2026-01-01T10:00:00.000']);
  });

  it('gives the same rows and reasons as the NDJSON reader for the same values (VARCHAR columns)', async () => {
    const rows: Array<Record<string, string | number | null>> = [
      {
        session_id: 's1',
        event_type: 'click',
        item_id: 'i1',
        timestamp: '2026-01-01T10:00:00.000Z',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's1',
        event_type: 'click',
        item_id: 'i2',
        timestamp: 'yesterday',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: null,
        event_type: 'click',
        item_id: 'i3',
        timestamp: '2026-01-01T10:00:00Z',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's1',
        event_type: 'teleport',
        item_id: 'i4',
        timestamp: '2026-01-01',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's1',
        event_type: null,
        item_id: 'i5',
        timestamp: '2026-01-01',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'purchase',
        item_id: 'i6',
        timestamp: '1767261600',
        user_id: 'u',
        price: 3.5,
        category: 'c',
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'view',
        item_id: 'i7',
        timestamp: '2026-02-30',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'view',
        item_id: 'i8',
        timestamp: '2026-01-01 10:00',
        user_id: '',
        price: null,
        category: '',
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'view',
        item_id: 'i9',
        timestamp: '1767261600123',
        user_id: null,
        price: -1,
        category: null,
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'view',
        item_id: 'i10',
        timestamp: '-5',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        session_id: 's2',
        event_type: 'view',
        item_id: 'i11',
        timestamp: '2026-01-01T24:00:00.000Z',
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
    ];
    const lit = (v: string | number | null, type: string) =>
      v === null ? `NULL::${type}` : typeof v === 'number' ? `${v}::${type}` : `'${v}'::${type}`;
    const select = rows
      .map(
        (o) =>
          `SELECT ${['session_id', 'event_type', 'item_id', 'timestamp', 'user_id', 'category', 'query'].map((k) => `${lit(o[k] ?? null, 'VARCHAR')} AS ${k}`).join(', ')}, ${lit(o['price'] ?? null, 'DOUBLE')} AS price`,
      )
      .join(' UNION ALL ');
    await mkdir(path.join(dir, 'pq'));
    await mkdir(path.join(dir, 'nd'));
    const pq = await parquet(path.join(dir, 'pq', 'same.parquet'), select);
    const nd = path.join(dir, 'nd', 'same.ndjson');
    await writeFile(nd, rows.map((o) => JSON.stringify(o)).join('\n'));
    await wh.load([pq]);
    const fromParquet = {
      events: await events(),
      reasons: (await refused()).map(({ line, reason }) => ({ line, reason })),
    };
    const other = await createDuckDbWarehouse({ path: path.join(dir, 'other.duckdb') });
    const saved = wh;
    wh = other;
    await wh.load([nd]);
    const fromNdjson = {
      events: await events(),
      reasons: (await refused()).map(({ line, reason }) => ({ line, reason })),
    };
    await other.close();
    wh = saved;
    expect(fromParquet).toEqual(fromNdjson);
    expect(fromParquet.reasons.map((r) => r.line)).toEqual([2, 3, 4, 5, 7, 10, 11]);
  });

  it('keeps row numbers and exact counts over several row groups with many bad rows', async () => {
    const n = 120_000;
    const f = await parquet(
      path.join(dir, 'big.parquet'),
      `SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 's' || (i // 10) END AS session_id,
              CASE WHEN i % 7 = 0 THEN 'teleport' ELSE 'click' END AS event_type,
              'i' || (i % 100) AS item_id,
              CASE WHEN i % 3 = 0 THEN 'not a time' ELSE strftime(TIMESTAMP '2026-01-01' + i * INTERVAL 1 SECOND, '%Y-%m-%dT%H:%M:%S.%gZ') END AS timestamp,
              i AS n
       FROM range(${n}) r(i) ORDER BY i`,
      10_000,
    );
    const r = await wh.load([f]);
    const rowNos = Array.from({ length: n }, (_, i) => i);
    // The contract's order: the event type is checked before the session, the timestamp's value last.
    const firstReason = (i: number) =>
      i % 7 === 0 ? 'value' : i % 5 === 0 ? 'missing' : i % 3 === 0 ? 'timestamp' : null;
    const bad = rowNos.filter((i) => firstReason(i) !== null);
    expect(r).toMatchObject({ rows: n, loaded: n - bad.length, quarantined: bad.length });
    // The line is the row's number in the file (from 1), and the stored values belong to that row.
    const mismatched = await wh.query<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM raw_events WHERE ts <> TIMESTAMP '2026-01-01' + (line - 1) * INTERVAL 1 SECOND`,
    );
    expect(mismatched).toEqual([{ n: 0 }]);
    const codes = await wh.query<{ code: string; n: number; lines: number }>(
      `SELECT code, count(*)::INTEGER AS n, count(DISTINCT line)::INTEGER AS lines FROM quarantine GROUP BY code ORDER BY code`,
    );
    const count = (c: string) => bad.filter((i) => firstReason(i) === c).length;
    expect(codes).toEqual(
      ['missing', 'timestamp', 'value'].map((code) => ({ code, n: count(code), lines: count(code) })),
    );
    const wrongLine = await wh.query<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM quarantine WHERE CAST(json_extract(raw, '$.n') AS BIGINT) <> line - 1`,
    );
    expect(wrongLine).toEqual([{ n: 0 }]);
  });

  it('detects Parquet by extension or magic bytes, takes --format parquet, and refuses what is not a raw-event Parquet file', async () => {
    const select = `SELECT 's' AS session_id, 'view' AS event_type, 'i' AS item_id, TIMESTAMP '2026-01-01' AS timestamp`;
    const f = await parquet(path.join(dir, 'x.parquet'), select);
    const bare = path.join(dir, 'x-without-extension');
    await copyFile(f, bare);
    expect(await detectFormat(f)).toEqual({ format: 'parquet', detectedBy: 'extension .parquet' });
    expect(await detectFormat(bare)).toEqual({ format: 'parquet', detectedBy: 'Parquet magic bytes PAR1' });
    expect(await detectFormat(bare, 'parquet')).toEqual({ format: 'parquet', detectedBy: 'requested' });

    const noColumns = await parquet(path.join(dir, 'other.parquet'), `SELECT 1 AS a, 'x' AS b`);
    await expect(wh.load([noColumns])).rejects.toThrow(
      /not a raw-event Parquet file: no column event_type, timestamp, session_id \(or user_id\) \(columns: a, b\)/,
    );
    const csv = path.join(dir, 'e.csv');
    await writeFile(csv, 'session_id,event_type,item_id,timestamp\ns,view,i,2026-01-01\n');
    await expect(wh.load([csv], { format: 'parquet' })).rejects.toThrow(/cannot be read as Parquet/);
    // One transaction: the good Parquet file of a failing load is not kept.
    await expect(wh.load([f, noColumns])).rejects.toThrow(/not a raw-event Parquet file/);
    expect(
      await wh.query(
        `SELECT (SELECT count(*) FROM raw_events)::INTEGER AS e, (SELECT count(*) FROM loads)::INTEGER AS l`,
      ),
    ).toEqual([{ e: 0, l: 0 }]);
    const ok = await wh.load([bare], { format: 'parquet' });
    expect(ok.files[0]).toMatchObject({ format: 'parquet', detectedBy: 'requested', loaded: 1 });
    // Same bytes under another name: skipped by sha256.
    expect(await wh.load([f])).toMatchObject({ skipped: 1, loaded: 0 });
  });

  it('refuses columns of types the contract has no place for, row by row', async () => {
    const f = await parquet(
      path.join(dir, 'types.parquet'),
      `SELECT * FROM (VALUES
        (1.5::DOUBLE, 'click', 'i', TIMESTAMP '2026-01-01', 'x', true),
        (NULL,        'click', 'i', TIMESTAMP '2026-01-01', '2', NULL),
        (NULL,        'click', 'i', TIMESTAMP '2026-01-01', '2', false)
      ) t(session_id, event_type, item_id, timestamp, price, user_id)`,
    );
    const r = await wh.load([f]);
    expect(r).toMatchObject({ rows: 3, loaded: 0, quarantined: 3 });
    expect((await refused()).map((q) => q.reason)).toEqual([
      'type: session_id must be a string',
      'type: price must be a number',
      'type: user_id must be a string',
    ]);
  });
});
