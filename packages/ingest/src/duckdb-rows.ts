import type { DuckDBConnection } from '@duckdb/node-api';

/** Runs a query and returns its rows as JSON values (big integers as strings). */
export async function rows<T>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as T[];
}
