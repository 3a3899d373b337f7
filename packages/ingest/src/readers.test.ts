import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawEventSchema } from '@skiff/core';
import { parseTimestamp } from '@skiff/core';
import { validateRawObject } from './contract.js';
import { readLines } from './lines.js';
import { detectFormat, readRawFile, type ParsedRecord, type RawFormat } from './readers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-readers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer) {
  const f = path.join(dir, name);
  await writeFile(f, content);
  return f;
}

async function read(f: string, format: RawFormat) {
  const out: ParsedRecord[] = [];
  for await (const r of readRawFile(f, format)) out.push(r);
  return out;
}

const events = (rs: ParsedRecord[]) => rs.flatMap((r) => (r.kind === 'event' ? [{ line: r.line, ...r.event }] : []));
const refused = (rs: ParsedRecord[]) => rs.flatMap((r) => (r.kind === 'quarantine' ? [[r.line, r.reason]] : []));

describe('format detection (--format auto)', () => {
  const cases: Array<[string, string, RawFormat, RegExp]> = [
    ['a.ndjson', '{"session_id":"s","event_type":"click","item_id":"i","timestamp":1}\n', 'ndjson', /JSON lines/],
    ['b.jsonl', '{"session":1,"events":[{"aid":1,"ts":1659304800025,"type":"clicks"}]}\n', 'otto', /session \+ events/],
    ['c.txt', 'SessionId\tItemId\tTime\n1\t2\t1396437466.94\n', 'yoochoose', /SessionId, ItemId, Time/],
    ['d.dat', '1,2014-04-07T10:51:09.277Z,214536502,0\n', 'yoochoose', /RSC15 \.dat/],
    [
      'e.csv',
      'session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n',
      'diginetica',
      /timeframe/,
    ],
    [
      'f.csv',
      'session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,hashed_url\n',
      'coveo',
      /session_id_hash/,
    ],
    ['g.csv', '\uFEFFsession_id,event_type,item_id,timestamp\r\n', 'csv', /raw contract/],
  ];
  for (const [name, content, format, how] of cases)
    it(`recognises ${format} (${name})`, async () => {
      const d = await detectFormat(await file(name, content));
      expect(d.format).toBe(format);
      expect(d.detectedBy).toMatch(how);
    });

  it('refuses what it cannot recognise, and unknown --format values', async () => {
    await expect(detectFormat(await file('x.txt', 'hello\n'))).rejects.toThrow(
      /cannot detect the format.*first line "hello"/,
    );
    await expect(detectFormat(await file('y.ndjson', '{}'), 'avro')).rejects.toThrow(
      /format "avro" is not supported \(supported: auto, ndjson, csv, yoochoose, diginetica, otto, coveo, parquet\)/,
    );
    expect(await detectFormat(await file('z.txt', 'x'), 'yoochoose')).toEqual({
      format: 'yoochoose',
      detectedBy: 'requested',
    });
  });
});

describe('readers of the public formats', () => {
  it('YooChoose (session-rec prepared): tab-separated, epoch seconds → click', async () => {
    const f = await file(
      'rsc15.txt',
      'SessionId\tItemId\tTime\n3\t214716935\t1396437466.94\n3\t214832672\tnot-a-time\n\n6\t\t1396796300.848\n',
    );
    const rs = await read(f, 'yoochoose');
    expect(rs[0]).toEqual({ line: 1, kind: 'skip', why: 'header' });
    expect(events(rs)).toEqual([
      {
        line: 2,
        session_id: '3',
        event_type: 'click',
        item_id: '214716935',
        tsMs: 1396437466940,
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
    ]);
    expect(refused(rs)).toEqual([
      [3, 'timestamp: "not-a-time" is not ISO-8601 or epoch s/ms'],
      [5, 'missing: item_id is required for click events'],
    ]);
    expect(rs.filter((r) => r.kind === 'skip')).toHaveLength(2);
  });

  it('YooChoose (raw RSC15 .dat): clicks and buys', async () => {
    const clicks = events(
      await read(
        await file('clicks.dat', '1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07T10:54:09.868Z,214536500,S\n'),
        'yoochoose',
      ),
    );
    expect(
      clicks.map((e) => [e.session_id, e.event_type, e.item_id, new Date(e.tsMs).toISOString(), e.category]),
    ).toEqual([
      ['1', 'click', '214536502', '2014-04-07T10:51:09.277Z', '0'],
      ['1', 'click', '214536500', '2014-04-07T10:54:09.868Z', 'S'],
    ]);
    const buys = events(
      await read(await file('buys.dat', '420374,2014-04-06T18:44:58.314Z,214537888,12462,1\n'), 'yoochoose'),
    );
    expect(buys).toMatchObject([{ session_id: '420374', event_type: 'purchase', item_id: '214537888', price: 12462 }]);
  });

  it('Diginetica: time = eventdate + timeframe ms, NA user = anonymous → view', async () => {
    const f = await file(
      'dg.csv',
      'session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n2;77;31331;5;2016-05-10\n3;NA;1;x;2016-05-10\n4;NA;1;5\n',
    );
    const rs = await read(f, 'diginetica');
    expect(events(rs)).toEqual([
      {
        line: 2,
        session_id: '1',
        event_type: 'view',
        item_id: '81766',
        tsMs: Date.UTC(2016, 4, 9) + 526309,
        user_id: null,
        price: null,
        category: null,
        query: null,
      },
      {
        line: 3,
        session_id: '2',
        event_type: 'view',
        item_id: '31331',
        tsMs: Date.UTC(2016, 4, 10) + 5,
        user_id: '77',
        price: null,
        category: null,
        query: null,
      },
    ]);
    expect(refused(rs)).toEqual([
      [4, 'timestamp: eventdate "2016-05-10" + timeframe "x" is not a date + milliseconds'],
      [5, 'csv: expected 5 fields, got 4'],
    ]);
  });

  it('OTTO: one line gives one record per event, same line number; clicks/carts/orders mapped', async () => {
    const f = await file(
      'otto.jsonl',
      [
        JSON.stringify({
          session: 0,
          events: [
            { aid: 1517085, ts: 1659304800025, type: 'clicks' },
            { aid: 7, ts: 1659304800026, type: 'carts' },
            { aid: 8, ts: 1659304800027, type: 'orders' },
          ],
        }),
        JSON.stringify({
          session: 1,
          events: [
            { aid: 2, ts: 1659304800025, type: 'wishes' },
            { aid: 3, type: 'clicks' },
            { aid: 4, ts: '1659304800025', type: 'clicks' },
            { ts: 1, type: 'clicks' },
          ],
        }),
        JSON.stringify({ events: [] }),
        JSON.stringify({ session: 2, events: [] }),
        '{"session": 3, "events": {}}',
        'nope',
      ].join('\n'),
    );
    const rs = await read(f, 'otto');
    expect(events(rs).map((e) => [e.line, e.session_id, e.event_type, e.item_id, e.tsMs])).toEqual([
      [1, '0', 'click', '1517085', 1659304800025],
      [1, '0', 'add_to_cart', '7', 1659304800026],
      [1, '0', 'purchase', '8', 1659304800027],
    ]);
    expect(refused(rs)).toEqual([
      [2, 'value: type "wishes" is not one of clicks, carts, orders'],
      [2, 'missing: ts'],
      [2, 'type: ts must be a number (epoch ms)'],
      [2, 'missing: aid'],
      [3, 'missing: session'],
      [5, 'type: events must be an array'],
      [6, 'json: not valid JSON'],
    ]);
    expect(rs.filter((r) => r.kind === 'skip')).toEqual([{ line: 4, kind: 'skip', why: 'no-events' }]);
  });

  it('Coveo browsing: product events mapped, page views and removes skipped, bad rows refused', async () => {
    const f = await file(
      'browsing_train.csv',
      [
        'session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,hashed_url',
        'a1,pageview,,,1550885210881,u1',
        'a1,event,detail,sku1,1550885213307,u2',
        'a1,event,add,sku1,1550885213500,u2',
        'a1,event,click,sku2,1550885214000,u3',
        'a1,event,purchase,sku1,1550885215000,u4',
        'a1,event,remove,sku2,1550885216000,u5',
        'a1,event,wishlist,sku2,1550885216000,u5',
        'a1,event,detail,,1550885216000,u5',
        ',event,detail,sku3,1550885216000,u5',
        'a1,event,detail,sku3,yesterday,u5',
      ].join('\n'),
    );
    const rs = await read(f, 'coveo');
    expect(events(rs).map((e) => [e.line, e.session_id, e.event_type, e.item_id, e.tsMs])).toEqual([
      [3, 'a1', 'view', 'sku1', 1550885213307],
      [4, 'a1', 'add_to_cart', 'sku1', 1550885213500],
      [5, 'a1', 'click', 'sku2', 1550885214000],
      [6, 'a1', 'purchase', 'sku1', 1550885215000],
    ]);
    expect(refused(rs)).toEqual([
      [8, 'value: product_action "wishlist" is not one of detail, click, add, purchase, remove'],
      [9, 'missing: item_id is required for view events'],
      [10, 'missing: session_id (and no user_id to sessionize by)'],
      [11, 'timestamp: "yesterday" is not ISO-8601 or epoch s/ms'],
    ]);
    expect(rs.filter((r) => r.kind === 'skip').map((r) => r.line)).toEqual([1, 2, 7]);
  });
});

describe('lines and the raw contract', () => {
  it('splits lines from bytes: CRLF, BOM, a last line without newline, invalid UTF-8, oversize', async () => {
    const f = await file(
      'lines.txt',
      Buffer.concat([
        Buffer.from('\uFEFFa\r\nb\n\n'),
        Buffer.from([0x63, 0xc3, 0x28, 0x0a]),
        Buffer.from('x'.repeat(70_000) + '\nlast'),
      ]),
    );
    const out = [];
    for await (const l of readLines(f, { chunkBytes: 1024 }))
      out.push('text' in l ? [l.line, l.text] : [l.line, l.bad]);
    expect(out).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, ''],
      [4, 'utf8'],
      [5, 'oversize'],
      [6, 'last'],
    ]);
  });

  it('parses ISO-8601 (offsets, fractions truncated to ms, no offset = UTC) and epoch s/ms', () => {
    expect(parseTimestamp('2026-01-01T12:00:00+02:00')).toBe(Date.UTC(2026, 0, 1, 10));
    expect(parseTimestamp('2026-01-01T12:00:00-0130')).toBe(Date.UTC(2026, 0, 1, 13, 30));
    expect(parseTimestamp('2026-01-01 12:00')).toBe(Date.UTC(2026, 0, 1, 12));
    expect(parseTimestamp('2026-01-01T00:00:00.123999Z')).toBe(Date.UTC(2026, 0, 1) + 123);
    expect(parseTimestamp('2026-01-01')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestamp(1767225600)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestamp('1767225600123')).toBe(Date.UTC(2026, 0, 1) + 123);
    expect(parseTimestamp(1396437466.94)).toBe(1396437466940);
    for (const bad of ['2026-02-30', '2026-01-01T24:00:00Z', 'Jan 1 2026', '', '1969-12-31', 'infinity'] as const)
      expect(parseTimestamp(bad)).toBeUndefined();
    for (const bad of [0, -5, Number.NaN, 1e20]) expect(parseTimestamp(bad)).toBeUndefined();
  });

  it("agrees with core's RawEventSchema on what a valid row is", () => {
    const base = { session_id: 's', event_type: 'click', item_id: 'i', timestamp: '2026-01-01T00:00:00Z' };
    const rows: unknown[] = [
      base,
      { ...base, price: 3, user_id: 'u', category: 'c', query: null },
      { ...base, session_id: 42 },
      { ...base, event_type: 'teleport' },
      { ...base, timestamp: true },
      { ...base, price: '3' },
      { ...base, user_id: 7 },
      { ...base, item_id: 7 },
      { session_id: 's', item_id: 'i', timestamp: 1 },
      [base],
      'text',
    ];
    for (const r of rows) expect(validateRawObject(r).ok, JSON.stringify(r)).toBe(RawEventSchema.safeParse(r).success);
  });
});
