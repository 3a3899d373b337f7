import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';
import { CHECKS_DIR, DEFAULT_VARS, loadChecks, loadModels, MODELS_DIR, renderSql, topoSort } from './sql-models.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 8);
const MIN = 60_000;
const ev = (o: Record<string, unknown>) =>
  JSON.stringify({ event_type: 'click', ...o, timestamp: new Date(o['t'] as number).toISOString(), t: undefined });

describe('SQL model files', () => {
  it('are read from <package>/models and <package>/checks, from src and from dist alike', async () => {
    expect(MODELS_DIR).toBe(path.join(packageRoot, 'models') + path.sep);
    expect(CHECKS_DIR).toBe(path.join(packageRoot, 'checks') + path.sep);
    const dist = path.join(packageRoot, 'dist', 'sql-models.js');
    expect(existsSync(dist), `${dist} is missing: build the package first`).toBe(true);
    const built = (await import(dist)) as typeof import('./sql-models.js');
    expect(built.MODELS_DIR).toBe(MODELS_DIR);
    expect(built.MODELS.map((m) => m.name)).toEqual([
      'stg_events',
      'sessions',
      'session_sequences',
      'splits',
      'item_stats',
    ]);
  });

  it('resolve {{ ref() }} into a run order, {{ source() }} and {{ var() }} into SQL', () => {
    const models = loadModels();
    expect(models.map((m) => [m.name, m.refs])).toEqual([
      ['stg_events', []],
      ['sessions', ['stg_events']],
      ['session_sequences', ['sessions', 'stg_events']],
      ['splits', ['session_sequences']],
      ['item_stats', ['stg_events', 'splits']],
    ]);
    for (const m of models) expect(m.sql).not.toContain('{{');
    expect(models.find((m) => m.name === 'stg_events')?.sql).toContain(`INTERVAL '30 minutes'`);
    expect(
      loadModels({ ...DEFAULT_VARS, session_gap_minutes: 45 }).find((m) => m.name === 'stg_events')?.sql,
    ).toContain(`INTERVAL '45 minutes'`);
    expect(
      renderSql(`select * from {{ source('raw', 'raw_events') }} join {{ref("a")}} where n > {{ var('x') }};`, {
        x: 3,
      }),
    ).toEqual({
      sql: 'select * from raw_events join a where n > 3',
      refs: ['a'],
    });
    expect(() => renderSql(`{{ var('nope') }}`, {})).toThrow(/unknown var\('nope'\)/);
    expect(() =>
      topoSort([
        { name: 'a', refs: ['b'] },
        { name: 'b', refs: ['a'] },
      ]),
    ).toThrow(/cycle: a, b/);
    expect(() => topoSort([{ name: 'a', refs: ['zz'] }])).toThrow(/unknown model zz/);
    expect(
      topoSort([
        { name: 'c', refs: ['a'] },
        { name: 'b', refs: [] },
        { name: 'a', refs: [] },
      ]).map((m) => m.name),
    ).toEqual(['a', 'b', 'c']);
    expect(loadChecks().map((c) => c.name)).toContain('sessions.length_distribution');
  });
});

describe('transforms and checks', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-transform-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function loadLines(name: string, lines: string[]) {
    const f = path.join(dir, name);
    await mkdir(dir, { recursive: true });
    await writeFile(f, lines.join('\n'));
    return wh.load([f]);
  }

  it('sessionizes rows without a session id by 30 minutes of inactivity per user, keeps explicit ids', async () => {
    await loadLines('users.ndjson', [
      ev({ user_id: 'u1', item_id: 'a', t: T0 }),
      ev({ user_id: 'u1', item_id: 'b', t: T0 + 10 * MIN }),
      ev({ user_id: 'u1', event_type: 'search', query: 'shoes', t: T0 + 35 * MIN }), // activity, not an item event
      ev({ user_id: 'u1', item_id: 'c', t: T0 + 60 * MIN }), // 25 min after the search: same session
      ev({ user_id: 'u1', item_id: 'd', t: T0 + 95 * MIN }), // 35 min gap: new session
      ev({ user_id: 'u1', item_id: 'e', t: T0 + 96 * MIN }),
      ev({ user_id: 'u2', item_id: 'a', t: T0 }),
      ev({ session_id: 'web-1', user_id: 'u1', item_id: 'z', t: T0 + 5 * MIN }),
      ev({ session_id: 'web-1', user_id: 'u1', item_id: 'y', t: T0 + 500 * MIN }), // explicit id: no gap rule
    ]);
    await wh.transform();
    const s = await wh.query<{ session_id: string; n_events: string; session_source: string }>(
      `SELECT session_id, n_events, session_source FROM sessions ORDER BY session_id`,
    );
    expect(s.map((x) => [x.session_id, Number(x.n_events), x.session_source])).toEqual([
      ['u:u1:1', 3, 'inactivity'],
      ['u:u1:2', 2, 'inactivity'],
      ['u:u2:1', 1, 'inactivity'],
      ['web-1', 2, 'explicit'],
    ]);
    const seq = await wh.query<{ items: string[] }>(`SELECT items FROM session_sequences WHERE session_id = 'u:u1:1'`);
    expect(seq[0]?.items).toEqual(['a', 'b', 'c']);
  });

  it('de-duplicates events, counts item statistics, and rebuilds identically from raw', async () => {
    const lines: string[] = [];
    for (let d = 0; d < 5; d++)
      for (let s = 0; s < 4; s++)
        for (let i = 0; i < 3; i++)
          lines.push(
            ev({
              session_id: `s${d}-${s}`,
              item_id: `i${(s + i) % 5}`,
              event_type: i === 2 ? 'purchase' : 'view',
              t: T0 + d * 86_400_000 + s * MIN + i * 1000,
            }),
          );
    await loadLines('a.ndjson', lines);
    await loadLines('b-copy.ndjson', [lines[0]!, lines[1]!, '']); // the same events under another file name
    const first = await wh.transform();
    expect(first.models.find((m) => m.name === 'stg_events')?.rows).toBe(60);
    const second = await wh.transform();
    expect(second).toEqual(first);
    const stats = await wh.query<Record<string, string>>(`SELECT * FROM item_stats WHERE item_id = 'i0'`);
    expect(stats[0]).toMatchObject({ n_events: '10', n_sessions: '10', n_views: '5', n_purchases: '5' });
    // Split by last event: test = sessions ending within a day of the newest event (day 4 and day 3's
    // last session, ending exactly one day before it); validation = the day before what remains
    // (day 3's first three, day 2's last two); train = days 0-1 and day 2's first two: 5 with i0.
    expect(Number(stats[0]!['train_sessions'])).toBe(5);
  });

  it('reports every check at once, old ones and new ones, and fails freshness when a limit is set', async () => {
    // A minute later each day, so that no session ends exactly one day before the newest event.
    await loadLines(
      'days.ndjson',
      [0, 1, 2, 3].flatMap((d) => [
        ev({ session_id: `s${d}`, item_id: 'a', t: T0 + d * 86_460_000 }),
        ev({ session_id: `s${d}`, item_id: 'b', t: T0 + d * 86_460_000 + 1000 }),
      ]),
    );
    await wh.transform();
    const c = await wh.check();
    expect(c.checks.map((x) => x.name)).toEqual([
      'raw_events.not_null',
      'raw_events.accepted_event_type',
      'raw_events.ts_range',
      'raw_events.price_range',
      'loads.accounting',
      'quarantine.accepted_code',
      'stg_events.item_not_null',
      'stg_events.unique_event',
      'sessions.time_range',
      'session_sequences.unique_session',
      'session_sequences.length',
      'sessions.length_distribution',
      'splits.unique_session',
      'splits.accepted_split',
      'splits.train_not_empty',
      'splits.test_not_empty',
      'splits.time_ordered',
      'item_stats.unique_item',
      'raw_events.freshness',
      'raw_events.not_future',
    ]);
    expect(c.passed).toBe(true);
    expect(c.checks.find((x) => x.name === 'splits.train_not_empty')?.detail).toBe('2 sessions');
    expect(c.checks.find((x) => x.name === 'raw_events.freshness')?.detail).toMatch(
      /^newest event 2026-01-04T08:03:01Z, .* hours old \(no limit set\)$/,
    );

    const strict = await createDuckDbWarehouse({ path: path.join(dir, 'w2.duckdb'), freshnessMaxAgeHours: 24 });
    const old = path.join(dir, 'old.ndjson');
    const T2020 = Date.UTC(2020, 0, 1);
    await writeFile(
      old,
      [0, 1, 2, 3]
        .flatMap((d) => [
          ev({ session_id: `o${d}`, item_id: 'a', t: T2020 + d * 86_460_000 }),
          ev({ session_id: `o${d}`, item_id: 'b', t: T2020 + d * 86_460_000 + 60_000 }),
        ])
        .join('\n'),
    );
    await strict.load([old]);
    await strict.transform();
    const s = await strict.check();
    await strict.close();
    expect(s.checks.filter((x) => !x.passed).map((x) => [x.name, x.detail.replace(/, [\d.]+ hours old/, '')])).toEqual([
      ['raw_events.freshness', 'newest event 2020-01-04T00:04:00Z (limit 24 h)'],
    ]);
  });

  it('refuses events later than their load (beyond the clock skew) by name, with the count and the latest time', async () => {
    const now = Date.now();
    const f = path.join(dir, 'future.ndjson');
    const rows = [0, 1, 2, 3].flatMap((d) => [
      ev({ session_id: `p${d}`, item_id: 'a', t: Date.UTC(2026, 0, 1) + d * 86_400_000 }),
      ev({ session_id: `p${d}`, item_id: 'b', t: Date.UTC(2026, 0, 1) + d * 86_400_000 + 60_000 }),
    ]);
    // Within the skew (4 minutes ahead) is fine; 2099 and 9999 are not.
    rows.push(
      ev({ session_id: 'skew', item_id: 'a', t: now + 240_000 }),
      ev({ session_id: 'skew', item_id: 'b', t: now + 241_000 }),
    );
    rows.push(
      ev({ session_id: 'f1', item_id: 'a', t: Date.UTC(2099, 0, 1) }),
      ev({ session_id: 'f1', item_id: 'b', t: Date.UTC(2099, 0, 1, 0, 1) }),
    );
    rows.push(
      JSON.stringify({ session_id: 'f2', event_type: 'click', item_id: 'a', timestamp: '9999-12-31T00:00:00Z' }),
    );
    await writeFile(f, rows.join('\n'));
    await wh.load([f]);
    await wh.transform();
    const c = await wh.check();
    const failed = c.checks.filter((x) => !x.passed);
    expect(c.passed).toBe(false);
    expect(failed.find((x) => x.name === 'raw_events.not_future')?.detail).toMatch(
      /^[23] events later than their load's start \+ 300 s \(latest 9999-12-31/,
    );
  });

  it('reports a check that cannot run (no transform yet) as failed instead of stopping', async () => {
    const c = await wh.check();
    expect(c.passed).toBe(false);
    expect(c.checks.find((x) => x.name === 'raw_events.not_null')?.passed).toBe(true);
    expect(c.checks.find((x) => x.name === 'stg_events.item_not_null')?.detail).toMatch(
      /^check could not run: .*stg_events/,
    );
  });

  it('opens a warehouse file of an earlier layout (no skipped_rows, session_id NOT NULL) and adds what it lacks', async () => {
    const old = path.join(dir, 'old.duckdb');
    const inst = await DuckDBInstance.create(old);
    const conn = await inst.connect();
    await conn.run(`
      CREATE TABLE loads (load_id VARCHAR PRIMARY KEY, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL, files INTEGER NOT NULL, rows BIGINT NOT NULL, loaded BIGINT NOT NULL, quarantined BIGINT NOT NULL);
      CREATE TABLE load_files (load_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL UNIQUE, format VARCHAR NOT NULL, rows BIGINT NOT NULL, loaded BIGINT NOT NULL, quarantined BIGINT NOT NULL);
      CREATE TABLE raw_events (load_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line BIGINT NOT NULL, session_id VARCHAR NOT NULL, event_type VARCHAR NOT NULL, item_id VARCHAR, ts TIMESTAMP NOT NULL, user_id VARCHAR, price DOUBLE, category VARCHAR, query VARCHAR);
      CREATE TABLE quarantine (load_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line BIGINT NOT NULL, raw VARCHAR NOT NULL, reason VARCHAR NOT NULL);
      INSERT INTO loads VALUES ('load-old', now(), now(), 1, 1, 1, 0);
      INSERT INTO raw_events VALUES ('load-old', 'old.ndjson', 1, 's', 'click', 'i', now(), NULL, NULL, NULL, NULL);`);
    conn.closeSync();
    inst.closeSync();
    const w = await createDuckDbWarehouse({ path: old });
    try {
      const f = path.join(dir, 'user-only.ndjson');
      await writeFile(f, ev({ user_id: 'u1', item_id: 'a', t: T0 }));
      const r = await w.load([f]);
      expect(r).toMatchObject({ loaded: 1, quarantined: 0 });
      expect(await w.query(`SELECT load_id, skipped_rows FROM loads ORDER BY started_at`)).toEqual([
        { load_id: 'load-old', skipped_rows: '0' },
        { load_id: r.loadId, skipped_rows: '0' },
      ]);
      expect(await w.query(`SELECT session_id, user_id FROM raw_events WHERE load_id = '${r.loadId}'`)).toEqual([
        { session_id: null, user_id: 'u1' },
      ]);
      expect((await w.check()).checks.find((c) => c.name === 'loads.accounting')?.passed).toBe(true);
    } finally {
      await w.close();
    }
  });
});
