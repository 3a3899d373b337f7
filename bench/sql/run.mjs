// What `skiff sql`'s private copy costs: a warehouse of --rows generated events (one load, then
// `transform()`, so the derived tables are in the file as in a pipeline's data dir) is queried
//   - `copy`: `snapshotWarehouse` alone (the file and its WAL copied to a temp folder, no lock taken);
//   - `sql`: `queryWarehouseReadOnly` end to end (copy, open read-only with external access off,
//     check the statement, run it, delete the copy), for a count and for a top-items aggregate;
//   - `direct`: the same query on the warehouse file itself opened READ_ONLY — what a query would
//     cost without the copy, but it takes DuckDB's file lock and so would block a running ingest;
//   - `lockedCopy`: the query on a copy made beforehand, opened with `skiff sql`'s settings
//     (read-only, external access off, configuration locked): `sql` minus the copy and clean-up;
//   - `cli`: `skiff sql` as a process (node start, imports, the copy, the query, JSON out).
// Disk: the copy needs as much free space in the temp folder (os.tmpdir(), TMPDIR) as the warehouse
// file plus its WAL, for the time of one query. One JSON line per figure, medians of --repeat, with
// the 1-minute load average (the machine may be shared: compare figures taken at a similar load).
// Usage: node bench/sql/run.mjs [--rows 1000000] [--repeat 5]   (needs `npm run build` first)
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbWarehouse, queryWarehouseReadOnly, snapshotWarehouse } from '../../packages/ingest/dist/index.js';
import { mulberry32 } from '../../packages/core/dist/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '5' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('Usage: node bench/sql/run.mjs [--rows 1000000] [--repeat 5]');
  process.exit(0);
}
const ROWS = Number(values.rows);
const REPEAT = Number(values.repeat);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'apps/cli/dist/main.js');
const TYPES = ['view', 'view', 'click', 'click', 'click', 'add_to_cart', 'purchase'];
const T0 = Date.UTC(2026, 0, 1);

const load1 = () => Number(os.loadavg()[0].toFixed(2));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const mb = (bytes) => Number((bytes / 2 ** 20).toFixed(1));
const size = (f) =>
  stat(f).then(
    (s) => s.size,
    () => 0,
  );

/** Sessions of ~8 events over 30 days, 50k items (the ingest bench's shape, without bad lines). */
async function writeEvents(file, rows) {
  const rng = mulberry32(7);
  const out = createWriteStream(file);
  let buf = [];
  let session = 0;
  let left = 0;
  let t = T0;
  for (let i = 0; i < rows; i++) {
    if (left === 0) {
      session++;
      left = 1 + Math.floor(rng() * 15);
      t = T0 + Math.floor(rng() * 30 * 86_400_000);
    }
    left--;
    t += Math.floor(rng() * 120_000);
    buf.push(
      JSON.stringify({
        session_id: `s${session}`,
        event_type: TYPES[Math.floor(rng() * TYPES.length)],
        item_id: `i${Math.floor(rng() ** 2 * 50_000)}`,
        timestamp: new Date(t).toISOString(),
        user_id: `u${session % 20_000}`,
        price: Math.round(rng() * 10_000) / 100,
      }),
    );
    if (buf.length === 10_000) {
      if (!out.write(buf.join('\n') + '\n')) await new Promise((r) => out.once('drain', r));
      buf = [];
    }
  }
  out.end(buf.length ? buf.join('\n') + '\n' : '');
  await new Promise((r) => out.once('finish', r));
}

async function timed(fn) {
  const t = performance.now();
  const v = await fn();
  return { ms: performance.now() - t, v };
}

/** `skiff sql`'s settings, for the copy opened on its own (what the query costs without copying or cleaning up). */
const LOCKED = {
  access_mode: 'READ_ONLY',
  enable_external_access: 'false',
  autoload_known_extensions: 'false',
  lock_configuration: 'true',
};

async function direct(file, sql, settings = { access_mode: 'READ_ONLY' }) {
  const db = await DuckDBInstance.create(file, settings);
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-sql-'));
try {
  const dataDir = path.join(dir, 'data');
  const file = path.join(dataDir, 'warehouse.duckdb');
  const events = path.join(dir, 'events.ndjson');
  await writeEvents(events, ROWS);
  const built = await timed(async () => {
    const wh = await createDuckDbWarehouse({ path: file });
    await wh.load([events]);
    await wh.transform();
    await wh.close();
  });
  await rm(events);
  const warehouseBytes = (await size(file)) + (await size(`${file}.wal`));
  console.log(
    JSON.stringify({
      bench: 'sql',
      figure: 'warehouse',
      rows: ROWS,
      warehouseMB: mb(warehouseBytes),
      buildSeconds: Number((built.ms / 1000).toFixed(1)),
      tmpdir: os.tmpdir(),
      load1: load1(),
    }),
  );

  const queries = {
    count: 'SELECT count(*) AS n FROM raw_events',
    topItems: 'SELECT item_id, count(*) AS n FROM stg_events GROUP BY item_id ORDER BY n DESC, item_id LIMIT 20',
  };
  const copyMs = [];
  let copyBytes = 0;
  for (let i = 0; i < REPEAT; i++) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-sql-copy-'));
    const { ms, v } = await timed(() => snapshotWarehouse(file, tmp));
    copyMs.push(ms);
    copyBytes = (await size(v)) + (await size(`${v}.wal`));
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      bench: 'sql',
      figure: 'copy',
      rows: ROWS,
      ms: Math.round(median(copyMs)),
      min: Math.round(Math.min(...copyMs)),
      max: Math.round(Math.max(...copyMs)),
      tempDiskMB: mb(copyBytes),
      load1: load1(),
    }),
  );

  for (const [name, sql] of Object.entries(queries)) {
    const viaCopy = [];
    const onFile = [];
    const onCopy = [];
    const cli = [];
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-sql-copy-'));
    const copy = await snapshotWarehouse(file, tmp);
    for (let i = 0; i < REPEAT; i++) {
      // Alternating, so that all see the same machine load.
      const a = await timed(() => queryWarehouseReadOnly(file, sql));
      const b = await timed(() => direct(file, sql));
      const c0 = await timed(() => direct(copy, sql, LOCKED));
      if (JSON.stringify(a.v.rows) !== JSON.stringify(b.v)) throw new Error(`${name}: the copy answered differently`);
      viaCopy.push(a.ms);
      onFile.push(b.ms);
      onCopy.push(c0.ms);
      const c = await timed(async () =>
        spawnSync(process.execPath, [CLI, 'sql', sql, '--json', '--data-dir', dataDir, '--log-level', 'error'], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        }),
      );
      if (c.v.status !== 0) throw new Error(`skiff sql failed: ${c.v.stderr}`);
      cli.push(c.ms);
    }
    await rm(tmp, { recursive: true, force: true });
    const sqlMs = median(viaCopy);
    const directMs = median(onFile);
    console.log(
      JSON.stringify({
        bench: 'sql',
        figure: 'query',
        query: name,
        rows: ROWS,
        sqlMs: Math.round(sqlMs),
        directMs: Math.round(directMs),
        lockedCopyMs: Math.round(median(onCopy)),
        copyShare: Number((median(copyMs) / sqlMs).toFixed(2)),
        cliMs: Math.round(median(cli)),
        load1: load1(),
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
