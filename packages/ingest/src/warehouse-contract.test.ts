/**
 * The Warehouse contract suite (@skiff/testing) against the real DuckDB adapter, on a temp file.
 * A replacement warehouse (Snowflake + dbt, BigQuery…) runs the same suite: docs/swapping.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeWarehouseContract } from '@skiff/testing';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';

describeWarehouseContract('duckdb', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-wh-duckdb-'));
  const file = path.join(dir, 'warehouse.duckdb');
  const duck = (w: unknown) => w as DuckDbWarehouse;
  return {
    warehouse: await createDuckDbWarehouse({ path: file }),
    reopen: () => createDuckDbWarehouse({ path: file }),
    quarantine: (w) =>
      duck(w).query<{ line: number; reason: string; file: string; loadId: string }>(
        `SELECT line::INTEGER AS line, reason, source_file AS file, load_id AS "loadId" FROM quarantine ORDER BY line`,
      ),
    monitoringRuns: (w) =>
      duck(w).query<{ runAt: string; modelVersion: string | null }>(
        `SELECT strftime(run_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS "runAt", model_version AS "modelVersion" FROM monitoring_runs ORDER BY run_at`,
      ),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
