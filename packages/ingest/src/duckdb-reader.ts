import { DuckDBInstance } from '@duckdb/node-api';
import type { WarehouseReader } from '@skiff/core';

/**
 * The warehouse file opened read-only: safe next to a running pipeline, and a typo cannot damage
 * it. Nothing is created or migrated (a missing file is DuckDB's error).
 */
export async function createDuckDbReader(options: { path: string }): Promise<WarehouseReader> {
  const db = await DuckDBInstance.create(options.path, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  return {
    async query(sql: string) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
    },
    async close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}
