import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import { SkiffError } from '@skiff/core';

/** Statement kinds a read-only query may hold (DESCRIBE and SHOW are SELECTs to DuckDB). */
const QUERY_TYPES = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

/** DuckDB's main header and its two database headers: they change whenever a checkpoint lands. */
const HEADER_BYTES = 3 * 4096;

async function header(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Copies the warehouse (and its write-ahead log) into `dir` without taking DuckDB's file lock, so a
 * writer (a running ingest) is never blocked. A copy is kept only when no checkpoint landed while it
 * was taken (same headers before and after): the blocks the old header points at are then intact,
 * and the log copied first is a prefix of what followed that checkpoint.
 */
export async function snapshotWarehouse(file: string, dir: string, attempts = 20): Promise<string> {
  const copy = path.join(dir, 'warehouse.duckdb');
  const wal = `${file}.wal`;
  for (let i = 0; i < attempts; i++) {
    const before = await header(file);
    await rm(`${copy}.wal`, { force: true });
    const hasWal = await stat(wal).then(
      () => true,
      () => false,
    );
    if (hasWal)
      await copyFile(wal, `${copy}.wal`).catch((e: NodeJS.ErrnoException) =>
        e.code === 'ENOENT' ? undefined : Promise.reject(e),
      );
    await copyFile(file, copy);
    if (before.equals(await header(file))) return copy;
    await new Promise((r) => setTimeout(r, 25 * (i + 1)));
  }
  throw new SkiffError(
    'SOURCE_UNAVAILABLE',
    `the warehouse ${file} was checkpointed during each of ${attempts} copies; try again`,
  );
}

export interface ReadOnlyQueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/**
 * Runs one query on a private copy of the warehouse, opened read-only with external access off and
 * the configuration locked: no file outside it can be read or written (COPY … TO, EXPORT DATABASE,
 * ATTACH, read_text, extensions), no setting can be changed (SET, PRAGMA), and only SELECT/EXPLAIN
 * statements run. Holding no lock on the warehouse, it never blocks a running ingest.
 */
export async function queryWarehouseReadOnly(warehouse: string, sql: string): Promise<ReadOnlyQueryResult> {
  if (!(await stat(warehouse).catch(() => null))?.isFile())
    throw new SkiffError('BAD_INPUT', `no warehouse at ${warehouse}: run skiff ingest first`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sql-'));
  try {
    const copy = await snapshotWarehouse(warehouse, dir);
    const db = await DuckDBInstance.create(copy, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
      autoload_known_extensions: 'false',
      lock_configuration: 'true',
    });
    const conn = await db.connect();
    try {
      const statements = await conn.extractStatements(sql).catch((e: unknown) => {
        throw new SkiffError('BAD_INPUT', (e as Error).message.split('\n')[0] ?? 'cannot parse the query');
      });
      if (statements.count === 0) throw new SkiffError('BAD_INPUT', 'no statement to run');
      for (let i = 0; i < statements.count; i++) {
        const p = await statements.prepare(i).catch((e: unknown) => {
          throw new SkiffError('BAD_INPUT', (e as Error).message.split('\n')[0] ?? 'cannot prepare the query');
        });
        if (!QUERY_TYPES.has(p.statementType))
          throw new SkiffError(
            'BAD_INPUT',
            `skiff sql runs queries only (SELECT, EXPLAIN, DESCRIBE, SHOW); statement ${i + 1} is ${StatementType[p.statementType]}`,
          );
      }
      try {
        const reader = await conn.runAndReadAll(sql);
        return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Array<Record<string, unknown>> };
      } catch (e) {
        throw new SkiffError('BAD_INPUT', (e as Error).message.split('\n')[0] ?? 'query failed');
      }
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
