import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';
import { sha256File } from '@skiff/node-io';
import { expandInputs } from './input-discovery.js';
import { needsLiteralAlias } from './literal-path.js';

const ev = (session: string, item: string) =>
  JSON.stringify({ session_id: session, event_type: 'click', item_id: item, timestamp: '2026-01-01T10:00:00.000Z' });

/**
 * DuckDB's file readers expand `*`, `?` and `[…]`: each name below also has a decoy that the
 * pattern would match. The warehouse must load the named file itself, under its own name and hash.
 */
const NAMES: Array<[target: string, decoy: string]> = [
  ['x[1].ndjson', 'x1.ndjson'],
  ['star*.ndjson', 'star-decoy.ndjson'],
  ['q?.ndjson', 'qq.ndjson'],
  ['brace{a,b}.ndjson', 'bracea.ndjson'],
  ["it's.ndjson", 'plain.ndjson'],
  ['say "hi".ndjson', 'other.ndjson'],
  ['back\\slash.ndjson', 'backslash.ndjson'],
];

let writer: DuckDBInstance;
let wconn: DuckDBConnection;
beforeAll(async () => {
  writer = await DuckDBInstance.create(':memory:');
  wconn = await writer.connect();
});
afterAll(() => {
  wconn.closeSync();
  writer.closeSync();
});

describe('literal file names into DuckDB', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-literal-test-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(NAMES)('loads %s itself, not %s', async (target, decoy) => {
    const raw = path.join(dir, 'raw');
    await mkdir(raw, { recursive: true });
    // As many lines as the target: a different line count would send the file down the JS path anyway.
    await writeFile(path.join(raw, decoy), ev('decoy', 'd1') + '\n');
    const file = path.join(raw, target);
    await writeFile(file, ev('real', 'r1') + '\n');
    const r = await wh.load([file]);
    expect(r).toMatchObject({ rows: 1, loaded: 1, quarantined: 0 });
    const rows = await wh.query<{ session_id: string; source_file: string }>(
      `SELECT session_id, source_file FROM raw_events`,
    );
    expect(rows).toEqual([{ session_id: 'real', source_file: file }]);
    const files = await wh.query<{ source_file: string; sha256: string }>(`SELECT source_file, sha256 FROM load_files`);
    expect(files).toEqual([{ source_file: file, sha256: await sha256File(file) }]);
  });

  it('loads a Parquet file whose name has pattern characters, not its decoy', async () => {
    const parquet = async (file: string, session: string) =>
      wconn.run(
        `COPY (SELECT '${session}' AS session_id, 'click' AS event_type, 'i1' AS item_id, TIMESTAMP '2026-01-01 10:00:00' AS timestamp) TO '${file.replaceAll("'", "''")}' (FORMAT parquet)`,
      );
    await parquet(path.join(dir, "p1's.parquet"), 'decoy');
    const file = path.join(dir, "p[1]'s.parquet");
    await parquet(path.join(dir, 'tmp.parquet'), 'real');
    await rename(path.join(dir, 'tmp.parquet'), file);
    const r = await wh.load([file]);
    expect(r).toMatchObject({ rows: 1, loaded: 1 });
    expect(await wh.query(`SELECT session_id, source_file FROM raw_events`)).toEqual([
      { session_id: 'real', source_file: file },
    ]);
  });

  it('a folder with pattern characters in its own path is expanded and loaded literally', async () => {
    const raw = path.join(dir, 'raw[2026]*');
    await mkdir(raw, { recursive: true });
    await writeFile(path.join(raw, 'a.ndjson'), ev('s', 'i') + '\n');
    const files = await expandInputs([raw]);
    expect(files).toEqual([path.join(raw, 'a.ndjson')]);
    expect(await wh.load(files)).toMatchObject({ rows: 1, loaded: 1 });
  });

  it('discovery skips only the serving and online folders inside the given folder, not one above it', async () => {
    const root = path.join(dir, 'serving', 'shop');
    await mkdir(path.join(root, 'serving'), { recursive: true });
    await mkdir(path.join(root, 'online'), { recursive: true });
    await writeFile(path.join(root, 'a.ndjson'), ev('s', 'i') + '\n');
    await writeFile(path.join(root, 'serving', 'serving-1.ndjson'), '{}\n');
    await writeFile(path.join(root, 'online', 'events-1.ndjson'), ev('s', 'forged') + '\n');
    expect(await expandInputs([root])).toEqual([path.join(root, 'a.ndjson')]);
  });

  it('names pattern characters', () => {
    for (const [t] of NAMES) expect(needsLiteralAlias(t), t).toBe(/[[*?{\\]/.test(t));
    expect(needsLiteralAlias('/data/raw/events-20260101.ndjson')).toBe(false);
  });
});
