import type { DuckDBConnection } from '@duckdb/node-api';
import { rows } from './duckdb-rows.js';
import { RAW_DDL, RELAX_SESSION_ID } from './schema.sql.js';

/**
 * Brings a warehouse file to the current raw schema: creates the raw tables and adds the later
 * columns when missing (RAW_DDL), and drops the NOT NULL of `raw_events.session_id` in a file
 * created before rows without a session id were sessionized by user.
 */
export async function migrateRawSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(RAW_DDL);
  const [relaxed] = await rows<{ n: string }>(
    conn,
    `SELECT count(*) AS n FROM duckdb_constraints() WHERE table_name = 'raw_events' AND constraint_type = 'NOT NULL' AND list_contains(constraint_column_names, 'session_id')`,
  );
  if (Number(relaxed?.n ?? 0) > 0) await conn.run(RELAX_SESSION_ID);
}
