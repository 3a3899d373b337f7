// Raw loads at scale: skiff's `createDuckDbWarehouse().load` (format detection, sha256, validation,
// quarantine, accounting, one transaction) against DuckDB's own `read_json` / `read_csv` into a table
// of a fresh database file, on the same generated file, in the same run.
// One JSON line per figure: { bench: 'ingest', format, rows, skiffRowsPerSec, duckdbRowsPerSec, ratio, ... }.
// Also `shapedRowsPerSec` / `shapedRatio`: DuckDB's reader writing skiff's `raw_events` shape (load id
// and source file on every row; no line numbers, no hash, no validation) — what the table skiff keeps
// costs to write, an upper bound for any load that keeps it; and `hashedRatio`: the
// same while skiff's own file scan (sha256 and line count, `scanFile`) runs alongside, as every load
// must — the bound for any load that keeps the table and knows whether the file was loaded before.
// Usage: node bench/ingest/run.mjs [--rows 1000000] [--repeat 3] [--engine duckdb|js] [--bad-share 0.01]
//   (needs `npx tsc -p tsconfig.build.json` in packages/ingest). Each figure is the best of --repeat runs,
//   skiff and DuckDB alternating, so that both see the same machine load. With --bad-share s, a share s
//   of the lines is bad (four kinds in turn: broken JSON, a missing field, a wrong type, an unparseable
//   timestamp); skiff must quarantine exactly those, and DuckDB's readers run with ignore_errors.
import { createWriteStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbWarehouse, scanFile } from '../../packages/ingest/dist/index.js';
import { mulberry32 } from '../../packages/core/dist/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '3' },
    engine: { type: 'string', default: 'duckdb' },
    'bad-share': { type: 'string', default: '0' },
  },
});
const ROWS = Number(values.rows);
const REPEAT = Number(values.repeat);
const ENGINE = values.engine;
const BAD_SHARE = Number(values['bad-share']);
if (!(BAD_SHARE >= 0 && BAD_SHARE < 1)) throw new Error('--bad-share must be in [0, 1)');

const TYPES = ['view', 'view', 'click', 'click', 'click', 'add_to_cart', 'purchase'];
const T0 = Date.UTC(2026, 0, 1);

/**
 * Bad line number `n` (0-based) of each format, in four kinds: broken JSON / a short row, a missing
 * event type, a wrong type (number session id; in CSV a price that is not a number), an unparseable
 * timestamp. Each is refused by skiff's contract and (except the wrong types, which DuckDB casts) by
 * DuckDB's reader.
 */
function badLine(ev, n) {
  switch (n % 4) {
    case 0:
      return { nd: JSON.stringify(ev).slice(0, -9), csv: `${ev.session_id},${ev.event_type}` };
    case 1:
      return {
        nd: JSON.stringify({ ...ev, event_type: undefined }),
        csv: `${ev.session_id},,${ev.item_id},${ev.timestamp},${ev.user_id},${ev.price}`,
      };
    case 2:
      return {
        nd: JSON.stringify({ ...ev, session_id: 12345 }),
        csv: `${ev.session_id},${ev.event_type},${ev.item_id},${ev.timestamp},${ev.user_id},cheap`,
      };
    default:
      return {
        nd: JSON.stringify({ ...ev, timestamp: 'yesterday' }),
        csv: `${ev.session_id},${ev.event_type},${ev.item_id},yesterday,${ev.user_id},${ev.price}`,
      };
  }
}

/** The same seeded events as NDJSON and CSV (sessions of ~8 events over 30 days, 50k items); returns the bad-line count too. */
async function writeFiles(dir, rows) {
  const rng = mulberry32(7);
  const badRng = mulberry32(11);
  let bad = 0;
  const nd = createWriteStream(path.join(dir, 'events.ndjson'));
  const csv = createWriteStream(path.join(dir, 'events.csv'));
  csv.write('session_id,event_type,item_id,timestamp,user_id,price\n');
  let ndBuf = [];
  let csvBuf = [];
  let session = 0;
  let t = T0;
  for (let i = 0; i < rows; i++) {
    if (rng() < 0.125) {
      session++;
      t = T0 + Math.floor(rng() * 30 * 86_400_000);
    }
    t += Math.floor(rng() * 60_000);
    const ev = {
      session_id: `s${session}`,
      event_type: TYPES[Math.floor(rng() * TYPES.length)],
      item_id: `i${Math.floor(rng() ** 2 * 50_000)}`,
      timestamp: new Date(t).toISOString(),
      user_id: `u${session % 20_000}`,
      price: Math.round(rng() * 10_000) / 100,
    };
    if (BAD_SHARE > 0 && badRng() < BAD_SHARE) {
      const b = badLine(ev, bad++);
      ndBuf.push(b.nd);
      csvBuf.push(b.csv);
    } else {
      ndBuf.push(JSON.stringify(ev));
      csvBuf.push(`${ev.session_id},${ev.event_type},${ev.item_id},${ev.timestamp},${ev.user_id},${ev.price}`);
    }
    if (ndBuf.length === 10_000 || i === rows - 1) {
      if (!nd.write(ndBuf.join('\n') + '\n')) await new Promise((r) => nd.once('drain', r));
      if (!csv.write(csvBuf.join('\n') + '\n')) await new Promise((r) => csv.once('drain', r));
      ndBuf = [];
      csvBuf = [];
    }
  }
  await Promise.all([new Promise((r) => nd.end(r)), new Promise((r) => csv.end(r))]);
  return { ndjson: path.join(dir, 'events.ndjson'), csv: path.join(dir, 'events.csv'), bad };
}

const COLUMNS = `{session_id: 'VARCHAR', event_type: 'VARCHAR', item_id: 'VARCHAR', timestamp: 'TIMESTAMP', user_id: 'VARCHAR', price: 'DOUBLE'}`;

/** Collects the per-phase seconds the warehouse logs at debug level. */
function phaseLogger(into) {
  const l = {
    debug: (msg, f) => msg.startsWith('file phases') && Object.assign(into, f),
    info() {},
    warn() {},
    error() {},
    child: () => l,
  };
  return l;
}

async function timeSkiff(dir, file, run, bad) {
  const phases = {};
  const wh = await createDuckDbWarehouse({
    path: path.join(dir, `skiff-${run}.duckdb`),
    lineEngine: ENGINE,
    logger: phaseLogger(phases),
  });
  const t0 = performance.now();
  const r = await wh.load([file]);
  const seconds = (performance.now() - t0) / 1000;
  await wh.close();
  if (r.loaded !== ROWS - bad || r.quarantined !== bad)
    throw new Error(`skiff loaded ${r.loaded}/${r.rows}, quarantined ${r.quarantined} (expected ${bad})`);
  delete phases.file;
  delete phases.engine;
  return {
    seconds,
    engine: r.files[0]?.engine,
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(3))])),
  };
}

/** skiff's raw_events as RAW_DDL creates it (packages/ingest/src/schema.sql.ts). */
const RAW_EVENTS = `CREATE TABLE raw_events (load_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line BIGINT NOT NULL,
  session_id VARCHAR, event_type VARCHAR NOT NULL, item_id VARCHAR, ts TIMESTAMP NOT NULL, user_id VARCHAR, price DOUBLE,
  category VARCHAR, query VARCHAR)`;

/**
 * DuckDB's reader into a plain table (`shaped` false) or into skiff's raw_events shape (`shaped`;
 * with `hashed`, while `scanFile` reads the file).
 */
async function timeDuckDb(dir, file, format, run, shaped, hashed = false) {
  const inst = await DuckDBInstance.create(
    path.join(dir, `duckdb-${shaped ? 'shaped-' : ''}${hashed ? 'hashed-' : ''}${run}.duckdb`),
  );
  const conn = await inst.connect();
  const lenient = BAD_SHARE > 0 ? ', ignore_errors = true' : '';
  const reader =
    format === 'ndjson'
      ? `read_json('${file}', format = 'newline_delimited', columns = ${COLUMNS}${lenient})`
      : `read_csv('${file}', header = true, columns = ${COLUMNS}${lenient})`;
  if (shaped) await conn.run(RAW_EVENTS);
  const t0 = performance.now();
  if (shaped)
    await Promise.all([
      conn.run(`INSERT INTO raw_events SELECT '${randomUUID()}', '${file}', 0, session_id, event_type, item_id, timestamp, user_id, price, NULL, NULL
        FROM ${reader} WHERE event_type IS NOT NULL AND timestamp IS NOT NULL`),
      hashed ? scanFile(file) : undefined,
    ]);
  else await conn.run(`CREATE TABLE events AS SELECT * FROM ${reader}`);
  const seconds = (performance.now() - t0) / 1000;
  const n = Number(
    (await conn.runAndReadAll(`SELECT count(*) AS n FROM ${shaped ? 'raw_events' : 'events'}`)).getRowObjectsJson()[0]
      .n,
  );
  conn.closeSync();
  inst.closeSync();
  // With bad lines, what DuckDB keeps depends on its own leniency (it casts 12345 to '12345'); the rate is per input line.
  if (BAD_SHARE === 0 && n !== ROWS) throw new Error(`duckdb read ${n} rows`);
  return { seconds };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-ingest-'));
try {
  const files = await writeFiles(dir, ROWS);
  for (const format of ['ndjson', 'csv']) {
    let skiff = Infinity;
    let duck = Infinity;
    let shaped = Infinity;
    let hashed = Infinity;
    let engine;
    let phases;
    for (let run = 0; run < REPEAT; run++) {
      const s = await timeSkiff(dir, files[format], `${format}-${run}`, files.bad);
      engine = s.engine;
      if (s.seconds < skiff) phases = s.phases;
      skiff = Math.min(skiff, s.seconds);
      duck = Math.min(duck, (await timeDuckDb(dir, files[format], format, `${format}-${run}`, false)).seconds);
      shaped = Math.min(shaped, (await timeDuckDb(dir, files[format], format, `${format}-${run}`, true)).seconds);
      hashed = Math.min(hashed, (await timeDuckDb(dir, files[format], format, `${format}-${run}`, true, true)).seconds);
    }
    const skiffRowsPerSec = Math.round(ROWS / skiff);
    const duckdbRowsPerSec = Math.round(ROWS / duck);
    const shapedRowsPerSec = Math.round(ROWS / shaped);
    console.log(
      JSON.stringify({
        bench: 'ingest',
        format,
        rows: ROWS,
        skiffRowsPerSec,
        duckdbRowsPerSec,
        ratio: Number((skiffRowsPerSec / duckdbRowsPerSec).toFixed(3)),
        shapedRowsPerSec,
        shapedRatio: Number((shapedRowsPerSec / duckdbRowsPerSec).toFixed(3)),
        hashedRatio: Number((duck / hashed).toFixed(3)),
        badLines: files.bad,
        skiffSeconds: Number(skiff.toFixed(3)),
        duckdbSeconds: Number(duck.toFixed(3)),
        engine,
        skiffPhases: phases,
        repeat: REPEAT,
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
