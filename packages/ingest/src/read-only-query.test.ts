import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbWarehouse } from './create-duckdb-warehouse.js';
import { queryWarehouseReadOnly } from './read-only-query.js';

describe('read-only warehouse queries', () => {
  let dir: string;
  let warehouse: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sql-test-'));
    warehouse = path.join(dir, 'w.duckdb');
    const f = path.join(dir, 'a.ndjson');
    await writeFile(
      f,
      JSON.stringify({ session_id: 's', event_type: 'click', item_id: 'i', timestamp: '2026-01-01T00:00:00Z' }) + '\n',
    );
    const wh = await createDuckDbWarehouse({ path: warehouse });
    await wh.load([f]);
    await wh.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers queries (SELECT, DESCRIBE, SHOW, EXPLAIN)', async () => {
    expect((await queryWarehouseReadOnly(warehouse, 'SELECT count(*)::INTEGER AS n FROM raw_events')).rows).toEqual([
      { n: 1 },
    ]);
    expect((await queryWarehouseReadOnly(warehouse, 'DESCRIBE raw_events')).rows.length).toBeGreaterThan(3);
    expect((await queryWarehouseReadOnly(warehouse, 'SHOW TABLES')).rows.map((r) => r['name'])).toContain('raw_events');
    expect((await queryWarehouseReadOnly(warehouse, 'EXPLAIN SELECT * FROM raw_events')).rows.length).toBeGreaterThan(
      0,
    );
  });

  const out = () => path.join(dir, 'out');
  it.each([
    ['COPY … TO', () => `COPY raw_events TO '${out()}.csv'`],
    ['a query then COPY … TO', () => `SELECT 1; COPY raw_events TO '${out()}.csv'`],
    ['EXPORT DATABASE', () => `EXPORT DATABASE '${out()}'`],
    ['ATTACH … (READ_WRITE)', () => `ATTACH '${out()}.duckdb' AS x (READ_WRITE)`],
    ['read_text of a system file', () => `SELECT * FROM read_text('/etc/hostname')`],
    ['read_csv of a system file', () => `SELECT * FROM read_csv('/etc/passwd')`],
    ['SET', () => `SET enable_external_access = true`],
    ['SET threads', () => `SET threads = 1`],
    ['PRAGMA', () => `PRAGMA threads = 1`],
    ['INSTALL', () => `INSTALL httpfs`],
    ['LOAD', () => `LOAD httpfs`],
    ['CREATE', () => `CREATE TEMP TABLE t AS SELECT 1`],
    ['DELETE', () => `DELETE FROM raw_events`],
    ['CHECKPOINT', () => `CHECKPOINT`],
  ])('refuses %s with BAD_INPUT and touches no file', async (_name, sql) => {
    await expect(queryWarehouseReadOnly(warehouse, sql())).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(existsSync(`${out()}.csv`) || existsSync(out()) || existsSync(`${out()}.duckdb`)).toBe(false);
  });

  it('refuses external access even inside a query (a table function in a SELECT)', async () => {
    await expect(
      queryWarehouseReadOnly(warehouse, `SELECT content FROM read_text('/etc/hostname')`),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/disabled by configuration/) });
  });

  it('says so when there is no warehouse', async () => {
    await expect(queryWarehouseReadOnly(path.join(dir, 'none.duckdb'), 'SELECT 1')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/skiff ingest/),
    });
  });
});
