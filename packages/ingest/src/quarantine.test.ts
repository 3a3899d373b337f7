import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';

const ISO = '2026-01-01T10:00:00.000Z';
const good = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ session_id: 's1', event_type: 'click', item_id: 'i1', timestamp: ISO, ...o });
const { session_id: _s, ...noSession } = JSON.parse(good()) as Record<string, unknown>;
const { event_type: _e, ...noType } = JSON.parse(good()) as Record<string, unknown>;
const { timestamp: _t, ...noTs } = JSON.parse(good()) as Record<string, unknown>;

/** Every kind of bad row, each on a known line, with the reason it must get. */
const MIXED: Array<[string | Buffer, string | 'ok' | 'skip']> = [
  [good(), 'ok'],
  ['{not json', 'json: not valid JSON'],
  ['', 'skip'],
  ['[1, 2]', 'json: not a JSON object'],
  [JSON.stringify(noSession), 'missing: session_id (and no user_id to sessionize by)'],
  [good({ session_id: 42 }), 'type: session_id must be a string'],
  [good({ timestamp: 'yesterday' }), 'timestamp: "yesterday" is not ISO-8601 or epoch s/ms'],
  [good({ query: 'x'.repeat(70_000) }), 'oversize: line longer than 65536 bytes'],
  [
    Buffer.concat([
      Buffer.from('{"session_id":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","event_type":"click","item_id":"i1","timestamp":1767261600}'),
    ]),
    'utf8: line is not valid UTF-8',
  ],
  [JSON.stringify({ ...noSession, user_id: 'u1' }), 'ok'],
  [JSON.stringify(noType), 'missing: event_type'],
  [
    good({ event_type: 'teleport' }),
    'value: event_type "teleport" is not one of view, click, add_to_cart, purchase, search',
  ],
  [good({ price: '12' }), 'type: price must be a number'],
  [good({ item_id: null }), 'missing: item_id is required for click events'],
  [good({ event_type: 'search', item_id: null, query: 'shoes' }), 'ok'],
  [good({ timestamp: 1767261600 }), 'ok'],
  [good({ timestamp: '2026-01-01T12:00:00+02:00', price: 9.5 }), 'ok'],
  ['  \t ', 'skip'],
  [JSON.stringify(noTs), 'missing: timestamp'],
  [good({ timestamp: true }), 'type: timestamp must be a string or a number'],
  [good({ item_id: 7 }), 'type: item_id must be a string'],
  [good({ timestamp: '2026-02-30' }), 'timestamp: "2026-02-30" is not ISO-8601 or epoch s/ms'],
  [good({ timestamp: -5 }), 'timestamp: "-5" is not ISO-8601 or epoch s/ms'],
  [good({ user_id: ['u'] }), 'type: user_id must be a string'],
  [good({ session_id: 'é\\"q', timestamp: '1767261600123' }), 'ok'],
  [good({ session_id: 's9' }), 'ok'], // last line, no newline after it
];

function mixedFile(eol = '\n'): Buffer {
  const parts: Buffer[] = [];
  MIXED.forEach(([l], i) => {
    parts.push(typeof l === 'string' ? Buffer.from(l) : l);
    if (i < MIXED.length - 1) parts.push(Buffer.from(eol));
  });
  return Buffer.concat(parts);
}

const expected = {
  rows: MIXED.length,
  loaded: MIXED.filter(([, r]) => r === 'ok').length,
  skippedRows: MIXED.filter(([, r]) => r === 'skip').length,
  quarantined: MIXED.filter(([, r]) => r !== 'ok' && r !== 'skip').length,
};
const expectedReasons = MIXED.flatMap(([, r], i) =>
  r === 'ok' || r === 'skip' ? [] : [{ line: i + 1, reason: r, code: r.split(':')[0] }],
);

describe('quarantine and accounting', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-quarantine-'));
  });
  afterEach(async () => {
    await wh?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function state(w: DuckDbWarehouse) {
    return {
      events: await w.query(
        `SELECT line, session_id, event_type, item_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') AS ts, user_id, price, category, query FROM raw_events ORDER BY line`,
      ),
      refused: await w.query<{ line: number; reason: string; code: string }>(
        `SELECT line::INTEGER AS line, reason, code FROM quarantine ORDER BY line`,
      ),
      loads: await w.query(`SELECT rows, loaded, quarantined, skipped_rows FROM loads`),
    };
  }

  for (const engine of ['duckdb', 'js'] as const) {
    it(`refuses each kind of bad row with its reason and counts every line (${engine} reader)`, async () => {
      wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb'), lineEngine: engine });
      const f = path.join(dir, 'mixed.ndjson');
      await writeFile(f, mixedFile());
      const r = await wh.load([f]);
      expect(r.files[0]).toMatchObject({ engine, format: 'ndjson', ...expected });
      expect(r).toMatchObject(expected);
      expect(r.rows).toBe(r.loaded + r.quarantined + r.skippedRows);
      const s = await state(wh);
      expect(s.refused).toEqual(expectedReasons);
      expect(s.loads).toEqual([
        {
          rows: String(expected.rows),
          loaded: String(expected.loaded),
          quarantined: String(expected.quarantined),
          skipped_rows: String(expected.skippedRows),
        },
      ]);
      expect(s.events.map((e) => e['line'])).toEqual(MIXED.flatMap(([, x], i) => (x === 'ok' ? [String(i + 1)] : [])));
      // A second load of the same file adds nothing, not even a load row.
      const again = await wh.load([f]);
      expect(again).toMatchObject({ rows: 0, loaded: 0, quarantined: 0, skipped: 1 });
      expect(await state(wh)).toEqual(s);
    });
  }

  it('gives the same rows and reasons through DuckDB, the JS reader, and with CRLF line ends', async () => {
    const results = [];
    for (const [engine, eol] of [
      ['duckdb', '\n'],
      ['js', '\n'],
      ['duckdb', '\r\n'],
    ] as const) {
      const w = await createDuckDbWarehouse({
        path: path.join(dir, `${engine}-${eol.length}.duckdb`),
        lineEngine: engine,
      });
      const f = path.join(dir, `mixed-${eol.length}.ndjson`);
      await writeFile(f, mixedFile(eol));
      const r = await w.load([f]);
      // CRLF files are not read by DuckDB (it counts \r as a line end of its own): the JS reader takes over.
      expect(r.files[0]?.engine).toBe(eol === '\r\n' ? 'js' : engine);
      results.push(await state(w));
      await w.close();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    const events = results[0]!.events;
    expect(events.find((e) => e['line'] === '10')).toMatchObject({ session_id: null, user_id: 'u1' });
    expect(events.find((e) => e['line'] === '17')).toMatchObject({ ts: '2026-01-01T10:00:00.000', price: 9.5 });
    expect(events.find((e) => e['line'] === '25')).toMatchObject({
      session_id: 'é\\"q',
      ts: '2026-01-01T10:00:00.123',
    });
  });

  it('reads lines where DuckDB and JSON.parse could disagree exactly as the JS reader does', async () => {
    const base = '"event_type":"click","item_id":"i1","timestamp":"2026-01-01T10:00:00.000Z"';
    // Each line is a trap for the SQL fast path (fast-load.ts): JSON.parse keeps the last of duplicate
    // keys (DuckDB the first), DuckDB writes floats back in another form (1e2 → 100.0, so a length
    // check alone could be balanced by a trailing comma), and it reads NaN, Infinity and trailing commas.
    const TRICKY = [
      `{"session_id":"s1","session_id":42,${base}}`,
      `{"session_id":"s1",${base},"item_id":"i2"}`,
      `{"session_id":"s1",${base},"price":null,"price":"12"}`,
      `{"session_id":"s1","category":null,${base},"category":"shoes"}`,
      `{"session_id":"s1",${base},"price":1e2}`,
      `{"session_id":"s1",${base},"price":1E+2}`,
      `{"session_id":"s1",${base},"price":1e2 ,}`,
      `{"session_id":"s1",${base},"price":1e15,"x":1}`,
      `{"session_id":"s1",${base},"price":12.50}`,
      `{"session_id":"s1",${base},"price":100.0}`,
      `{"session_id":"s1",${base},"price":NaN}`,
      `{"session_id":"s1",${base},"price":-Infinity}`,
      `{"session_id":"s1",${base},"extra":NaN}`,
      `{"session_id":"s1",${base},"extra":[1,2,]}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":1.7672616e9}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":1767261600123.0}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":"1767261600"}`,
      `{ "session_id" : "s1" , ${base} }`,
      `{"session_id":"s1",${base},"device":{"session_id":7},"tags":["a","b"]}`,
      `{"meta":{"session_id":"x"},"user_id":"u9",${base}}`,
      `{"SESSION_ID":"s1","user_id":"u9",${base}}`,
      `{"session_id":"s\\u0031",${base},"query":"a \\"b\\""}`,
      `{"session_id":"s1",${base},"category":"Finance","query":"info: nan"}`,
      `{"session_id":"","user_id":"u9",${base}}`,
      `{"session_id":"s1",${base},"user_id":""}`,
      `{"session_id":"s1","event_type":"search","timestamp":"2026-01-01T10:00:00.000Z","query":"x"}`,
      `{"session_id":"s1","event_type":"search","item_id":null,"timestamp":"2026-01-01T10:00:00.000Z"}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":"2026-01-01T24:00:00.000Z"}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":"1970-01-01T00:00:00.000Z"}`,
      `{"session_id":"s1","event_type":"click","item_id":"i1","timestamp":"2026-01-01T10:00:00.1234Z"}`,
      `{"session_id":"s1",${base}}`,
    ];
    const f = path.join(dir, 'tricky.ndjson');
    await writeFile(f, TRICKY.join('\n') + '\n');
    const results = [];
    for (const engine of ['duckdb', 'js'] as const) {
      const w = await createDuckDbWarehouse({ path: path.join(dir, `tricky-${engine}.duckdb`), lineEngine: engine });
      const r = await w.load([f]);
      expect(r.files[0]?.engine).toBe(engine);
      expect(r.rows).toBe(TRICKY.length);
      results.push(await state(w));
      await w.close();
    }
    expect(results[0]).toEqual(results[1]);
    const events = results[1]!.events;
    // The JS reader's reading, for the record: the last duplicate wins, floats are numbers.
    expect(events.find((e) => e['line'] === '2')).toMatchObject({ item_id: 'i2' });
    expect(events.find((e) => e['line'] === '5')).toMatchObject({ price: 100 });
    expect(results[1]!.refused.map((x) => x.line)).toEqual(expect.arrayContaining([1, 3, 7, 11, 12, 13, 14]));
  });

  for (const engine of ['duckdb', 'js'] as const)
    it(`refuses bad CSV rows (field count, types, timestamps) and skips the header (${engine} reader)`, async () => {
      wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb'), lineEngine: engine });
      const f = path.join(dir, 'events.csv');
      await writeFile(
        f,
        [
          'session_id,event_type,item_id,timestamp,price',
          's1,click,i1,2026-01-01T00:00:00Z,',
          's1,click,"i,2",1767225601,3.5',
          's1,click,i3',
          's1,click,i3,soon,',
          's1,view,i4,2026-01-01T00:00:03Z,cheap',
          '',
          ',click,i5,2026-01-01T00:00:04Z,',
        ].join('\n'),
      );
      const r = await wh.load([f]);
      expect(r).toMatchObject({ rows: 8, loaded: 2, quarantined: 4, skippedRows: 2 });
      expect(r.files[0]).toMatchObject({ format: 'csv', engine });
      expect((await state(wh)).refused).toEqual([
        { line: 4, reason: 'csv: expected 5 fields, got 3', code: 'csv' },
        { line: 5, reason: 'timestamp: "soon" is not ISO-8601 or epoch s/ms', code: 'timestamp' },
        { line: 6, reason: 'type: price must be a number', code: 'type' },
        { line: 8, reason: 'missing: session_id (and no user_id to sessionize by)', code: 'missing' },
      ]);
      expect((await wh.query(`SELECT item_id FROM raw_events ORDER BY line`)).map((x) => x['item_id'])).toEqual([
        'i1',
        'i,2',
      ]);
    });

  it('loads a clean CSV (every row taken by the SQL, only the header left) as the JS reader does', async () => {
    const f = path.join(dir, 'clean.csv');
    const rows = Array.from({ length: 500 }, (_, i) => `s${i % 7},click,i${i},${1767261600 + i},u${i % 3},${i}.25`);
    await writeFile(f, ['session_id,event_type,item_id,timestamp,user_id,price', ...rows].join('\n') + '\n');
    const results = [];
    for (const engine of ['duckdb', 'js'] as const) {
      const w = await createDuckDbWarehouse({ path: path.join(dir, `clean-csv-${engine}.duckdb`), lineEngine: engine });
      const r = await w.load([f]);
      expect(r).toMatchObject({ rows: 501, loaded: 500, quarantined: 0, skippedRows: 1 });
      expect(r.files[0]).toMatchObject({ format: 'csv', engine });
      results.push(await state(w));
      await w.close();
    }
    expect(results[0]).toEqual(results[1]);
  });

  it('reads CSV lines where SQL and the JS reader could disagree exactly as the JS reader does', async () => {
    // Traps for the SQL path (acceptedCsvRowsSql): quoting, cells JS trims (ASCII and Unicode
    // spaces), empty cells, column order and extra columns, duplicate header names, price forms,
    // timestamps of every accepted shape, field counts, and a header in capitals with spaces.
    const lines = [
      ' Item_ID ,session_id,event_type,timestamp,price,category,extra,price',
      'i1,s1,click,2026-01-01T10:00:00.000Z,,,x,1.5',
      'i2,s1,click,2026-01-01T10:00:01Z,,Shoes & Bags,x,',
      'i3,s1, click,2026-01-01T10:00:02Z,,,x,',
      'i4,s1,click ,2026-01-01T10:00:03Z,,,x,',
      'i5,s1,click,2026-01-01T10:00:04Z,,\u00a0,x,',
      '\ufeffi6,s1,click,2026-01-01T10:00:05Z,,,x,',
      'i7,s1,click,2026-01-01T10:00:06Z,,cat\u2003,x,',
      '"i8",s1,click,2026-01-01T10:00:07Z,,,x,',
      '"i,9",s1,click,2026-01-01T10:00:08Z,,,x,',
      'i10,s1,click,2026-01-01T10:00:09Z,,,x,007',
      'i11,s1,click,2026-01-01T10:00:10Z,,,x,1e2',
      'i12,s1,click,2026-01-01T10:00:11Z,,,x,1e400',
      'i13,s1,click,2026-01-01T10:00:12Z,,,x,-0',
      'i14,s1,click,2026-01-01T10:00:13Z,,,x,.5',
      'i15,s1,click,2026-01-01T10:00:14Z,,,x,+5',
      'i16,s1,click,1767261600,,,x,',
      'i17,s1,click,1767261600123,,,x,',
      'i18,s1,click,1767261600.5,,,x,',
      'i19,s1,click,2026-01-01 10:00:00,,,x,',
      'i20,s1,click,2026-01-01T12:00:00+02:00,,,x,',
      'i21,s1,click,2026-01-01T24:00:00.000Z,,,x,',
      'i22,s1,click,2026-02-30,,,x,',
      'i23,s1,click,1970-01-01T00:00:00.000Z,,,x,',
      ',s1,search,2026-01-01T10:00:15Z,,,x,',
      ',s1,click,2026-01-01T10:00:16Z,,,x,',
      'i24,,click,2026-01-01T10:00:17Z,,,x,',
      'i25,s1,teleport,2026-01-01T10:00:18Z,,,x,',
      'i26,s1,CLICK,2026-01-01T10:00:19Z,,,x,',
      'i27,s1,click,2026-01-01T10:00:20Z,,,x',
      'i28,s1,click,2026-01-01T10:00:21Z,,,x,,',
      '   ',
      'i29,s\u00e9,click,2026-01-01T10:00:22Z,,caf\u00e9,x,2.50',
      'i30,s1,click,2026-01-01T10:00:23Z,,a\tb,x,',
    ];
    const f = path.join(dir, 'tricky.csv');
    await writeFile(f, lines.join('\n') + '\n');
    const results = [];
    for (const engine of ['duckdb', 'js'] as const) {
      const w = await createDuckDbWarehouse({
        path: path.join(dir, `tricky-csv-${engine}.duckdb`),
        lineEngine: engine,
      });
      const r = await w.load([f]);
      expect(r.files[0]).toMatchObject({ format: 'csv', engine });
      expect(r.rows).toBe(lines.length);
      results.push(await state(w));
      await w.close();
    }
    expect(results[0]).toEqual(results[1]);
    // The JS reader's reading, for the record: trimmed cells, the last "price" column, quotes removed.
    const byItem = new Map(results[1]!.events.map((e) => [e['item_id'], e]));
    expect(byItem.get('i1')).toMatchObject({ price: 1.5 });
    expect(byItem.get('i10')).toMatchObject({ price: 7 });
    expect(byItem.get('i4')).toMatchObject({ event_type: 'click' });
    expect(byItem.get('i8')).toMatchObject({ line: '9' });
    expect(byItem.get('i,9')).toBeDefined();
    expect(results[1]!.refused.map((x) => x.line)).toEqual(
      expect.arrayContaining([15, 16, 22, 23, 26, 27, 28, 29, 30, 31]),
    );
  });

  for (const engine of ['duckdb', 'js'] as const)
    it(`quarantines a line of several MiB as oversize (${engine} reader)`, async () => {
      wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb'), lineEngine: engine });
      const f = path.join(dir, 'big-line.ndjson');
      await writeFile(
        f,
        [good(), good({ query: 'y'.repeat(3 << 20) }), '{bad', good({ session_id: 's2' })].join('\n') + '\n',
      );
      const r = await wh.load([f]);
      expect(r).toMatchObject({ rows: 4, loaded: 2, quarantined: 2 });
      expect(r.files[0]?.engine).toBe(engine);
      const q = await wh.query<{ line: string; reason: string; n: string }>(
        `SELECT line, reason, strlen(raw) AS n FROM quarantine ORDER BY line`,
      );
      expect(q.map((x) => [x.line, x.reason])).toEqual([
        ['2', 'oversize: line longer than 65536 bytes'],
        ['3', 'json: not valid JSON'],
      ]);
      expect(Number(q[0]!.n)).toBeLessThanOrEqual(10_000);
      expect((await wh.query(`SELECT line FROM raw_events ORDER BY line`)).map((x) => x['line'])).toEqual(['1', '4']);
    });

  it('keeps the line number of every row through a parallel DuckDB read of a large file', async () => {
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
    const f = path.join(dir, 'numbered.ndjson');
    const lines: string[] = [];
    // Every line names its own number; a few bad and blank lines shift nothing.
    for (let i = 1; i <= 250_001; i++)
      lines.push(
        i % 50_000 === 0
          ? ''
          : i % 70_001 === 0
            ? Buffer.from([0xc3, 0x28]).toString('latin1')
            : good({ session_id: `L${i}`, item_id: `i${i % 1000}` }),
      );
    await writeFile(f, Buffer.from(lines.join('\n'), 'latin1'));
    const r = await wh.load([f]);
    expect(r.files[0]?.engine).toBe('duckdb');
    expect(r).toMatchObject({ rows: 250_001, skippedRows: 5, quarantined: 3, loaded: 250_001 - 8 });
    const [m] = await wh.query<{ n: string }>(`SELECT count(*) AS n FROM raw_events WHERE session_id <> 'L' || line`);
    expect(m?.n).toBe('0');
    expect(
      (await wh.query(`SELECT line, code FROM quarantine ORDER BY line`)).map((x) => [x['line'], x['code']]),
    ).toEqual([
      ['70001', 'utf8'],
      ['140002', 'utf8'],
      ['210003', 'utf8'],
    ]);
  });
});

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const distIndex = path.join(packageRoot, 'dist', 'index.js');

/** A child process that loads `file` into `db` and reports progress on stdout; killed by the test. */
const CHILD = `
import { createDuckDbWarehouse } from ${JSON.stringify(distIndex)};
const [db, file, engine] = process.argv.slice(2);
const wh = await createDuckDbWarehouse({ path: db, lineEngine: engine, progressEvery: 20000, onProgress: (p) => process.stdout.write('progress ' + p.rows + '\\n') });
await wh.load([file]);
process.stdout.write('done\\n');
await wh.close();
`;

describe('a load killed midway', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-kill-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const engine of ['js', 'duckdb'] as const) {
    it(`leaves the warehouse as it was (SIGKILL during a ${engine} load)`, async () => {
      expect(
        existsSync(distIndex),
        `the child process imports ${distIndex}: run \`npx tsc -p tsconfig.build.json\` first`,
      ).toBe(true);
      const db = path.join(dir, 'w.duckdb');
      const small = path.join(dir, 'small.ndjson');
      await writeFile(small, [good(), good({ item_id: 'i2', timestamp: '2026-01-01T10:00:01Z' })].join('\n'));
      const big = path.join(dir, 'big.ndjson');
      const lines: string[] = [];
      for (let i = 0; i < 300_000; i++) lines.push(good({ session_id: `b${i >> 3}`, item_id: `i${i % 997}` }));
      await writeFile(big, lines.join('\n'));

      const before = await createDuckDbWarehouse({ path: db });
      await before.load([small]);
      const snapshot = async (w: DuckDbWarehouse) => ({
        events: await w.query(`SELECT count(*) AS n FROM raw_events`),
        loads: await w.query(`SELECT load_id, rows FROM loads ORDER BY load_id`),
        files: await w.query(`SELECT sha256 FROM load_files ORDER BY sha256`),
        quarantine: await w.query(`SELECT count(*) AS n FROM quarantine`),
      });
      const was = await snapshot(before);
      await before.close();

      const scriptFile = path.join(dir, 'child.mjs');
      await writeFile(scriptFile, CHILD);
      const child = spawn(process.execPath, [scriptFile, db, big, engine], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const outcome = await new Promise<string>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          const text = d.toString();
          if (text.includes('done')) resolve('finished');
          else if (text.includes('progress')) {
            child.kill('SIGKILL');
            resolve('killed');
          }
        });
        child.on('exit', () => resolve(`exited early: ${stderr}`));
      });
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.on('exit', r),
      );
      expect(outcome).toBe('killed');
      expect(child.signalCode).toBe('SIGKILL');

      const after = await createDuckDbWarehouse({ path: db });
      try {
        expect(await snapshot(after)).toEqual(was);
        // Nothing of the killed load was recorded, so the file loads in full now.
        const r = await after.load([big]);
        expect(r).toMatchObject({ rows: 300_000, loaded: 300_000, skipped: 0 });
      } finally {
        await after.close();
      }
    });
  }
});
