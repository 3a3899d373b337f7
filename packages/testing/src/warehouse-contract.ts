import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, type TestContext } from 'vitest';
import {
  DatasetSnapshotSchema,
  type CheckResult,
  type DatasetSnapshot,
  type LoadResult,
  type MonitoringRunRow,
  type Warehouse,
} from '@skiff/core';
import { contractCase, seededRandom, type ContractSuiteOptions } from './contract-cases.js';

/** One quarantined row as the adapter stores it (its `quarantine` table or equivalent). */
export interface QuarantinedRow {
  /** 1-based line (or row number) of the refused row in its file. */
  line?: number | null;
  /** Why it was refused: `<code>: <detail>`. */
  reason: string;
  /** The source file, as the adapter records it. */
  file?: string | null;
  loadId?: string | null;
}

/**
 * What a warehouse adapter hands the contract suite for one test: a fresh, empty warehouse plus
 * read-backs of what the port itself does not return.
 */
export interface WarehouseHarness {
  warehouse: Warehouse;
  /** Every quarantined row of the store `warehouse` works on (e.g. `SELECT line, reason FROM quarantine`). */
  quarantine(warehouse: Warehouse): Promise<QuarantinedRow[]>;
  /**
   * A new client of the same store, opened after the first one was closed (another process, the
   * next `skiff` command). Without it the `reopen` case is skipped.
   */
  reopen?(): Promise<Warehouse>;
  /** The rows of `monitoring_runs`, for the `monitoring` case (optional). */
  monitoringRuns?(warehouse: Warehouse): Promise<Array<{ runAt: string; modelVersion: string | null }>>;
  /** Removes the store (temp files, a scratch schema…). Called after the suite closed the warehouse. */
  cleanup?(): Promise<void>;
}

/** The cases of `describeWarehouseContract`, by key (what `knownFailures` names). */
export const WAREHOUSE_CONTRACT_CASES = {
  accounting: 'a load counts every row: rows = loaded + quarantined + skippedRows, per file and per load',
  quarantine: 'bad rows go to quarantine with their line and a reason; the good rows of the file still load',
  idempotent: 'a file whose sha256 was loaded before loads nothing (again, under another name, next to a new file)',
  transaction: 'a load that fails part-way leaves nothing behind',
  transform: 'transform rebuilds the derived tables deterministically from raw; checks pass on good data',
  checks: 'check() reports every check at once, failed ones included, and never throws for a failing one',
  snapshot: 'snapshot writes time-ordered train/validation/test splits of event-time-ordered sessions',
  snapshotId: 'the snapshot id is the same for the same data and changes with new data',
  reopen: 'loads and snapshots survive closing and reopening the store',
  monitoring: 'recordMonitoringRun appends one row per run (when implemented)',
} as const;
export type WarehouseContractCase = keyof typeof WAREHOUSE_CONTRACT_CASES;

export type WarehouseContractOptions = ContractSuiteOptions<WarehouseContractCase>;

const DAY = 86_400_000;
const MIN = 60_000;
/** Monday 2026-01-05 00:00 UTC: the first day of the contract data. */
const T0 = Date.UTC(2026, 0, 5);

/** A session of the contract data, with what the warehouse must make of it. */
export interface ContractSession {
  id: string;
  day: number;
  /** Epoch ms of its first event. */
  start: number;
  /** Its items in event-time order (what `session_sequences` must hold). */
  items: string[];
}

/**
 * `perDay` sessions on each of `days` days (06:00–21:00 UTC, so none crosses midnight), 3–4 click
 * events 45 s apart, items from a pool of 15; every item sequence distinct, so a sequence found in a
 * split identifies its session.
 */
export function contractSessions(options: {
  days: number;
  perDay: number;
  seed: number;
  firstDay?: number;
  prefix?: string;
  itemPrefix?: string;
}): ContractSession[] {
  const { days, perDay, seed, firstDay = 0, prefix = 's', itemPrefix = 'p' } = options;
  const rnd = seededRandom(seed);
  const seen = new Set<string>();
  const out: ContractSession[] = [];
  for (let d = firstDay; d < firstDay + days; d++)
    for (let s = 0; s < perDay; s++) {
      let items: string[];
      do {
        const len = 3 + Math.floor(rnd() * 2);
        items = Array.from({ length: len }, () => `${itemPrefix}${String(Math.floor(rnd() * 15)).padStart(2, '0')}`);
      } while (seen.has(items.join(' ')));
      seen.add(items.join(' '));
      const minute = 6 * 60 + Math.floor((s * 15 * 60) / Math.max(1, perDay)) + Math.floor(rnd() * 20);
      out.push({ id: `${prefix}-${d}-${s}`, day: d, start: T0 + d * DAY + minute * MIN, items });
    }
  return out;
}

const iso = (t: number) => new Date(t).toISOString();
/** The same instant as local time at UTC+03:00, written with its offset. */
const isoPlus3 = (t: number) => `${new Date(t + 3 * 3_600_000).toISOString().slice(0, 19)}+03:00`;

/**
 * The sessions as NDJSON lines of the raw contract (docs/design.md, Raw events), shuffled, with every timestamp
 * form the contract allows in each session (ISO `Z`, ISO with an offset, epoch ms, epoch s), plus a
 * search event (no item) in every other session. Returns the lines and the number of events.
 */
export function contractNdjson(sessions: readonly ContractSession[], seed: number): { text: string; events: number } {
  const rnd = seededRandom(seed);
  const lines: string[] = [];
  sessions.forEach((s, n) => {
    s.items.forEach((item, j) => {
      const t = s.start + j * 45_000;
      const timestamp = [iso(t), isoPlus3(t), t, t / 1000][j % 4];
      const extra = j === 0 ? { user_id: `u${n % 7}`, price: 10 + (n % 5), category: `c${n % 3}` } : {};
      lines.push(JSON.stringify({ session_id: s.id, event_type: 'click', item_id: item, timestamp, ...extra }));
    });
    if (n % 2 === 0)
      lines.push(
        JSON.stringify({
          session_id: s.id,
          event_type: 'search',
          item_id: null,
          query: 'red shoes',
          timestamp: iso(s.start + 10_000),
        }),
      );
  });
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  return { text: lines.join('\n') + '\n', events: lines.length };
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const key = (items: readonly string[]) => JSON.stringify(items);

function expectAccounting(r: LoadResult): void {
  for (const f of r.files) {
    expect(f.rows, `rows of ${f.path}`).toBe(f.loaded + f.quarantined + (f.skippedRows ?? 0));
    for (const n of [f.rows, f.loaded, f.quarantined, f.skippedRows ?? 0])
      expect(Number.isInteger(n) && n >= 0).toBe(true);
  }
  const sum = (k: 'rows' | 'loaded' | 'quarantined') => r.files.reduce((a, f) => a + f[k], 0);
  expect(r.rows).toBe(sum('rows'));
  expect(r.loaded).toBe(sum('loaded'));
  expect(r.quarantined).toBe(sum('quarantined'));
  expect(r.rows).toBe(r.loaded + r.quarantined + (r.skippedRows ?? 0));
  expect(r.skipped).toBe(r.files.filter((f) => f.skipped).length);
}

function expectChecksShape(c: CheckResult): void {
  expect(c.checks.length).toBeGreaterThan(0);
  for (const x of c.checks) {
    expect(typeof x.name === 'string' && x.name.length > 0).toBe(true);
    expect(typeof x.detail).toBe('string');
    expect(typeof x.passed).toBe('boolean');
  }
  expect(new Set(c.checks.map((x) => x.name)).size).toBe(c.checks.length);
  expect(c.passed).toBe(c.checks.every((x) => x.passed));
}

interface SplitFile {
  sessions: string[][];
  startedAt?: unknown[];
}

/**
 * The behaviour every `Warehouse` adapter must have (ports.ts; docs/design.md, The loop and Raw events): raw loads with
 * accounting, quarantine and sha256 idempotency in one transaction; transform and checks that report
 * every failure at once; content-addressed snapshots of time-based splits that the trainer reads.
 * The suite writes small NDJSON/CSV files into a temp folder; each case takes well under a second on
 * DuckDB.
 * @example
 * describeWarehouseContract('duckdb', async () => {
 *   const dir = await mkdtemp(path.join(os.tmpdir(), 'wh-'));
 *   const warehouse = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
 *   return { warehouse, quarantine: (w) => (w as DuckDbWarehouse).query('SELECT line::INTEGER AS line, reason FROM quarantine'),
 *            cleanup: () => rm(dir, { recursive: true, force: true }) };
 * });
 */
export function describeWarehouseContract(
  name: string,
  makeWarehouse: () => Promise<WarehouseHarness>,
  options: WarehouseContractOptions = {},
): void {
  const suite = options.skip ? describe.skip : describe;
  const title = options.skip ? `Warehouse contract: ${name} (SKIPPED: ${options.skip})` : `Warehouse contract: ${name}`;
  const test = contractCase<WarehouseContractCase>(options.knownFailures);
  const C = WAREHOUSE_CONTRACT_CASES;

  suite(title, () => {
    let tmp: string;
    let h: WarehouseHarness;
    let wh: Warehouse;
    const harnesses: WarehouseHarness[] = [];
    const open = new Set<Warehouse>();
    /** The contract data set: 6 days × 8 sessions. */
    const sessions = contractSessions({ days: 6, perDay: 8, seed: 11 });
    const startOf = new Map(sessions.map((s) => [key(s.items), s.start]));

    async function fresh(): Promise<WarehouseHarness> {
      const x = await makeWarehouse();
      harnesses.push(x);
      open.add(x.warehouse);
      return x;
    }
    async function close(w: Warehouse): Promise<void> {
      if (!open.delete(w)) return;
      await w.close();
    }
    async function file(name: string, text: string | Buffer): Promise<string> {
      const f = path.join(tmp, name);
      await writeFile(f, text);
      return f;
    }
    const dataset = (name = 'events.ndjson') => file(name, contractNdjson(sessions, 5).text);

    beforeEach(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-wh-contract-'));
      h = await fresh();
      wh = h.warehouse;
    });
    afterEach(async () => {
      for (const w of [...open]) await close(w).catch(() => undefined);
      for (const x of harnesses.splice(0)) await x.cleanup?.();
      await rm(tmp, { recursive: true, force: true });
    });

    test('accounting', C.accounting, async () => {
      const { text, events } = contractNdjson(sessions, 5);
      const nd = await file('a-events.ndjson', text);
      const csvRows = [
        'session_id,event_type,item_id,timestamp,user_id,price,category,query',
        ...sessions
          .slice(0, 3)
          .flatMap((s) => s.items.map((item, j) => `csv-${s.id},click,${item},${iso(s.start + j * 45_000)},,,,`)),
        `csv-bad,teleport,x1,${iso(T0)},,,,`,
      ];
      const csvText = csvRows.join('\n') + '\n';
      const csv = await file('b-events.csv', csvText);
      const csvEvents = sessions.slice(0, 3).reduce((a, s) => a + s.items.length, 0);

      const r = await wh.load([nd, csv]);
      expect(typeof r.loadId === 'string' && r.loadId.length > 0).toBe(true);
      expectAccounting(r);
      expect(r.files).toHaveLength(2);
      const byName = new Map(r.files.map((f) => [path.basename(f.path), f]));
      const a = byName.get('a-events.ndjson')!;
      const b = byName.get('b-events.csv')!;
      expect(a).toMatchObject({ loaded: events, quarantined: 0, skipped: false, sha256: sha256(text) });
      expect(a.format).toMatch(/json/i);
      expect(b).toMatchObject({ loaded: csvEvents, quarantined: 1, skipped: false, sha256: sha256(csvText) });
      expect(b.format).toMatch(/csv/i);
      expect(path.resolve(a.path)).toBe(path.resolve(nd));
      expect(r).toMatchObject({ loaded: events + csvEvents, quarantined: 1, skipped: 0 });
      // The CSV header is either not a row or a skipped one; never loaded or quarantined.
      expect(b.rows - b.loaded - b.quarantined).toBeLessThanOrEqual(1);
    });

    test('quarantine', C.quarantine, async () => {
      const ok = (s: string, t: number, extra: Record<string, unknown> = {}) =>
        JSON.stringify({ session_id: s, event_type: 'click', item_id: 'p01', timestamp: iso(t), ...extra });
      // Line numbers (1-based) and what each line is.
      const lines = [
        /* 1 */ ok('q1', T0),
        /* 2 */ '{not json',
        /* 3 */ ok('q1', T0 + MIN, { item_id: 'p02' }),
        /* 4 */ ok('q1', T0, { event_type: 'teleport' }), // unknown event type
        /* 5 */ '', // blank
        /* 6 */ JSON.stringify({ session_id: 'q2', event_type: 'click', item_id: 'p01' }), // no timestamp
        /* 7 */ ok('q2', T0, { timestamp: 'yesterday' }),
        /* 8 */ JSON.stringify({ session_id: 'q2', event_type: 'click', timestamp: iso(T0) }), // click without item
        /* 9 */ JSON.stringify({ event_type: 'click', item_id: 'p01', timestamp: iso(T0) }), // no session, no user
        /* 10 */ JSON.stringify({ session_id: 'q1', event_type: 'search', query: 'x', timestamp: iso(T0 + 2 * MIN) }), // a search has no item
        /* 11 */ ok('q1', T0 + 3 * MIN, { item_id: 'p03' }),
      ];
      const f = await file('mixed.ndjson', lines.join('\n') + '\n');
      const r = await wh.load([f]);
      expectAccounting(r);
      expect(r).toMatchObject({ loaded: 4, quarantined: 6, skipped: 0 });
      // The blank line is a skipped row or not a row at all.
      expect([10, 11]).toContain(r.rows);
      const q = (await h.quarantine(wh)).slice().sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
      expect(q).toHaveLength(6);
      for (const row of q) expect(row.reason.trim().length).toBeGreaterThan(0);
      if (q.every((row) => typeof row.line === 'number')) expect(q.map((row) => row.line)).toEqual([2, 4, 6, 7, 8, 9]);
      const reasons = q.map((row) => row.reason);
      expect(reasons[0]).toMatch(/json/i);
      expect(reasons[1]).toMatch(/event_type|event type/i);
      expect(reasons[2]).toMatch(/timestamp/i);
      expect(reasons[3]).toMatch(/timestamp/i);
      expect(reasons[4]).toMatch(/item_id|item id/i);
      expect(reasons[5]).toMatch(/session_id|session id|user_id/i);
      for (const row of q) {
        if (row.loadId != null) expect(row.loadId).toBe(r.loadId);
        if (row.file != null) expect(path.resolve(row.file)).toBe(path.resolve(f));
      }
      // Only the good rows became events: one session q1 of items p01 p02 p03 (the search has no item).
      await wh.transform();
      const snap = await wh.snapshot(path.join(tmp, 'snapshots'));
      const all = await Promise.all(
        [snap.files.train, snap.files.validation, snap.files.test].map(
          async (p) => (JSON.parse(await readFile(p, 'utf8')) as SplitFile).sessions,
        ),
      );
      expect(all.flat()).toEqual([['p01', 'p02', 'p03']]);
    });

    test('idempotent', C.idempotent, async () => {
      const a = await dataset('a.ndjson');
      const r1 = await wh.load([a]);
      expect(r1.loaded).toBeGreaterThan(0);
      const t1 = await wh.transform();
      const s1 = await wh.snapshot(path.join(tmp, 'snap-1'));

      const again = await wh.load([a]);
      expectAccounting(again);
      expect(again).toMatchObject({ loaded: 0, quarantined: 0, skipped: 1 });
      expect(again.files[0]).toMatchObject({ skipped: true, loaded: 0, quarantined: 0, sha256: r1.files[0]!.sha256 });
      // Same bytes under another name: same sha256, loaded nothing.
      const copy = path.join(tmp, 'copy-of-a.ndjson');
      await copyFile(a, copy);
      const renamed = await wh.load([copy]);
      expect(renamed).toMatchObject({ loaded: 0, quarantined: 0, skipped: 1 });
      expect(renamed.files[0]!.sha256).toBe(r1.files[0]!.sha256);

      // Nothing changed: the derived tables and the snapshot are the same.
      const t2 = await wh.transform();
      expect(t2.models.map((m) => [m.name, m.rows])).toEqual(t1.models.map((m) => [m.name, m.rows]));
      const s2 = await wh.snapshot(path.join(tmp, 'snap-2'));
      expect(s2.snapshotId).toBe(s1.snapshotId);
      expect(s2.counts).toEqual(s1.counts);

      // A new file next to an old one: only the new one loads.
      const extra = contractSessions({ days: 1, perDay: 3, seed: 99, firstDay: 6, prefix: 'new', itemPrefix: 'n' });
      const nd = contractNdjson(extra, 1);
      const b = await file('b.ndjson', nd.text);
      const mixed = await wh.load([a, b]);
      expectAccounting(mixed);
      expect(mixed).toMatchObject({ loaded: nd.events, skipped: 1 });
      const files = new Map(mixed.files.map((f) => [path.basename(f.path), f]));
      expect(files.get('a.ndjson')).toMatchObject({ skipped: true, loaded: 0 });
      expect(files.get('b.ndjson')).toMatchObject({ skipped: false, loaded: nd.events, sha256: sha256(nd.text) });

      // A folder that is absent or holds no raw file: "nothing new" when allowed, a clear error otherwise.
      const empty = path.join(tmp, 'empty-raw');
      await mkdir(empty, { recursive: true });
      for (const p of [empty, path.join(tmp, 'no-such-raw')]) {
        const none = await wh.load([p], { allowEmpty: true });
        expect(none).toMatchObject({ files: [], rows: 0, loaded: 0, quarantined: 0, skipped: 0 });
        await expect(wh.load([p])).rejects.toMatchObject({ code: 'BAD_INPUT' });
      }
    });

    test('transaction', C.transaction, async () => {
      const good = await dataset('a-good.ndjson');
      const bad = await file('b-bad.parquet', Buffer.from('this is not a parquet file\n'));
      await expect(wh.load([good, bad])).rejects.toThrow();
      // Nothing of the good file stayed behind: loading it alone now loads it fully.
      const r = await wh.load([good]);
      expect(r).toMatchObject({ loaded: contractNdjson(sessions, 5).events, skipped: 0 });
      expect(await h.quarantine(wh)).toEqual([]);
    });

    test('transform', C.transform, async () => {
      await wh.load([await dataset()]);
      const t1 = await wh.transform();
      expect(t1.models.length).toBeGreaterThan(0);
      for (const m of t1.models) {
        expect(m.name.length).toBeGreaterThan(0);
        expect(Number.isInteger(m.rows) && m.rows >= 0).toBe(true);
      }
      expect(new Set(t1.models.map((m) => m.name)).size).toBe(t1.models.length);
      expect(t1.models.some((m) => m.rows > 0)).toBe(true);
      // Log, then transform: rebuilding from the same raw rows gives the same tables.
      const t2 = await wh.transform();
      expect(t2.models.map((m) => [m.name, m.rows])).toEqual(t1.models.map((m) => [m.name, m.rows]));
      const c = await wh.check();
      expectChecksShape(c);
      expect(c.checks.filter((x) => !x.passed)).toEqual([]);
      expect(c.passed).toBe(true);
    });

    test('checks', C.checks, async () => {
      // Before any transform: the checks of tables that do not exist yet fail; check() still answers.
      const before = await wh.check();
      expectChecksShape(before);
      expect(before.passed).toBe(false);
      // An empty warehouse, transformed: no train and no test data, reported together.
      await wh.transform();
      const empty = await wh.check();
      expectChecksShape(empty);
      expect(empty.passed).toBe(false);
      expect(empty.checks.filter((x) => !x.passed).length).toBeGreaterThanOrEqual(2);
      for (const x of empty.checks.filter((y) => !y.passed)) expect(x.detail.trim().length).toBeGreaterThan(0);
      // The same checks run whether they pass or not: none is skipped after the first failure.
      const other = await fresh();
      await other.warehouse.load([await dataset()]);
      await other.warehouse.transform();
      const good = await other.warehouse.check();
      expect(good.passed).toBe(true);
      expect(empty.checks.map((x) => x.name).sort()).toEqual(good.checks.map((x) => x.name).sort());
      expect(before.checks.map((x) => x.name).sort()).toEqual(good.checks.map((x) => x.name).sort());
    });

    test('snapshot', C.snapshot, async () => {
      const r = await wh.load([await dataset()]);
      await wh.transform();
      const dir = path.join(tmp, 'snapshots');
      const snap = await wh.snapshot(dir);
      // It crosses process boundaries as JSON (Temporal payloads) and matches core's schema.
      expect(DatasetSnapshotSchema.parse(JSON.parse(JSON.stringify(snap)))).toEqual(snap);
      expect(snap.snapshotId.length).toBeGreaterThan(0);
      expect(snap.loadIds).toContain(r.loadId);
      const under = (p: string) => path.resolve(p).startsWith(path.resolve(dir) + path.sep);
      expect(under(snap.dir)).toBe(true);
      const splits = ['train', 'validation', 'test'] as const;
      const files: Record<(typeof splits)[number], SplitFile> = {
        train: { sessions: [] },
        validation: { sessions: [] },
        test: { sessions: [] },
      };
      for (const s of splits) {
        expect(under(snap.files[s])).toBe(true);
        expect((await stat(snap.files[s])).isFile()).toBe(true);
        const f = JSON.parse(await readFile(snap.files[s], 'utf8')) as SplitFile;
        expect(Array.isArray(f.sessions)).toBe(true);
        for (const seq of f.sessions) expect(seq.every((i) => typeof i === 'string')).toBe(true);
        expect(f.sessions.length, `${s} sessions vs counts.${s}`).toBe(snap.counts[s]);
        expect(f.sessions.length, `${s} is empty`).toBeGreaterThan(0);
        files[s] = f;
      }
      // Every session once, its items in event-time order (timestamps in four forms, lines shuffled;
      // the search events carry no item).
      const got = splits.flatMap((s) => files[s].sessions.map(key)).sort();
      expect(got).toEqual(sessions.map((s) => key(s.items)).sort());
      // Splits by time, never random: every train session starts before every validation session,
      // and those before every test session; each file is ordered by session start.
      const starts = Object.fromEntries(
        splits.map((s) => [s, files[s].sessions.map((q) => startOf.get(key(q))!)]),
      ) as Record<(typeof splits)[number], number[]>;
      for (const s of splits)
        expect(starts[s], `${s} ordered by session start`).toEqual([...starts[s]].sort((x, y) => x - y));
      expect(Math.max(...starts.train)).toBeLessThan(Math.min(...starts.validation));
      expect(Math.max(...starts.validation)).toBeLessThan(Math.min(...starts.test));
      // The last day is in the test split.
      expect(starts.test).toContain(Math.max(...sessions.map((s) => s.start)));
      // splitTime names the cuts.
      const v = Date.parse(snap.splitTime.validationStart);
      const t = Date.parse(snap.splitTime.testStart);
      expect(Number.isNaN(v) || Number.isNaN(t)).toBe(false);
      expect(Math.max(...starts.train)).toBeLessThan(v);
      expect(v).toBeLessThanOrEqual(Math.min(...starts.validation));
      expect(Math.max(...starts.validation)).toBeLessThan(t);
      expect(t).toBeLessThanOrEqual(Math.min(...starts.test));
      // Optional per-session start times (the monitor's hour of day) are aligned with the sessions.
      for (const s of splits) {
        const st = files[s].startedAt;
        if (st === undefined) continue;
        expect(st.map((x) => (typeof x === 'number' ? x : Date.parse(String(x))))).toEqual(starts[s]);
      }
      const items = new Set(splits.flatMap((s) => files[s].sessions.flat()));
      expect(snap.counts.items).toBeGreaterThan(0);
      expect(snap.counts.items).toBeLessThanOrEqual(items.size);
    });

    test('snapshotId', C.snapshotId, async () => {
      await wh.load([await dataset()]);
      await wh.transform();
      const a = await wh.snapshot(path.join(tmp, 'snapshots'));
      const b = await wh.snapshot(path.join(tmp, 'snapshots')); // again into the same folder
      const c = await wh.snapshot(path.join(tmp, 'elsewhere'));
      expect(b.snapshotId).toBe(a.snapshotId);
      expect(c.snapshotId).toBe(a.snapshotId);
      expect(c.counts).toEqual(a.counts);
      expect(JSON.parse(await readFile(b.files.train, 'utf8'))).toEqual(
        JSON.parse(await readFile(a.files.train, 'utf8')),
      );
      // New data → a new id, with the new sessions in it.
      const extra = contractSessions({ days: 1, perDay: 4, seed: 3, firstDay: 6, prefix: 'more', itemPrefix: 'm' });
      await wh.load([await file('more.ndjson', contractNdjson(extra, 2).text)]);
      await wh.transform();
      const d = await wh.snapshot(path.join(tmp, 'snapshots'));
      expect(d.snapshotId).not.toBe(a.snapshotId);
      const total = (s: DatasetSnapshot) => s.counts.train + s.counts.validation + s.counts.test;
      expect(total(d)).toBe(total(a) + extra.length);
    });

    test('reopen', C.reopen, async (ctx: TestContext) => {
      if (!h.reopen) {
        ctx.skip();
        return;
      }
      const a = await dataset();
      const r = await wh.load([a]);
      await wh.transform();
      const s1 = await wh.snapshot(path.join(tmp, 'snapshots'));
      await close(wh);
      const w2 = await h.reopen();
      open.add(w2);
      const again = await w2.load([a]);
      expect(again).toMatchObject({ loaded: 0, skipped: 1 });
      expect(again.files[0]!.sha256).toBe(r.files[0]!.sha256);
      await w2.transform();
      expect((await w2.check()).passed).toBe(true);
      const s2 = await w2.snapshot(path.join(tmp, 'snapshots-2'));
      expect(s2.snapshotId).toBe(s1.snapshotId);
      expect(s2.loadIds).toEqual(s1.loadIds);
    });

    test('monitoring', C.monitoring, async (ctx: TestContext) => {
      if (!wh.recordMonitoringRun) {
        ctx.skip();
        return;
      }
      const run: MonitoringRunRow = {
        runAt: '2026-03-01T10:15:30.250Z',
        modelVersion: 'v0003',
        datasetDrift: true,
        share: 0.6,
        driftShare: 0.5,
        referenceRows: 1200,
        currentRows: 345,
        driftedColumns: ['session_length', 'it\'s "quoted"'],
        onlineHr20: 0.42,
        reportPath: 'reports/r1/report.html',
      };
      await expect(wh.recordMonitoringRun(run)).resolves.toBeUndefined();
      await expect(
        wh.recordMonitoringRun({
          ...run,
          runAt: '2026-03-01T12:00:00.000Z',
          modelVersion: null,
          driftedColumns: [],
          onlineHr20: null,
        }),
      ).resolves.toBeUndefined();
      if (h.monitoringRuns) {
        const rows = (await h.monitoringRuns(wh)).slice().sort((x, y) => Date.parse(x.runAt) - Date.parse(y.runAt));
        expect(rows.map((x) => [Date.parse(x.runAt), x.modelVersion])).toEqual([
          [Date.parse(run.runAt), 'v0003'],
          [Date.parse('2026-03-01T12:00:00.000Z'), null],
        ]);
      }
    });
  });
}
