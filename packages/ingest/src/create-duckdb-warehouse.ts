import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBConnection,
} from '@duckdb/node-api';
import {
  SkiffError,
  silentLogger,
  type CheckResult,
  type DatasetSnapshot,
  type LoadResult,
  type Logger,
  type TransformResult,
  type Warehouse,
} from '@skiff/core';
import { MAX_SESSION_LENGTH, MIN_SESSION_LENGTH, MODELS } from './models/index.js';
import { detectFormat, readRawFile } from './readers.js';
import { RAW_DDL } from './schema.sql.js';

export interface CreateDuckDbWarehouseOptions {
  /** DuckDB database file (created if missing). */
  path: string;
  logger?: Logger;
  /** Called every `progressEvery` rows during a load. */
  onProgress?: (p: { file: string; rows: number }) => void;
  progressEvery?: number;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Expands folders into the raw files they hold (sorted, recursive, serving logs excluded). */
export async function expandInputs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new SkiffError('BAD_INPUT', `input not found: ${p}`);
    if (st.isDirectory()) {
      const entries = await readdir(p, { withFileTypes: true, recursive: true });
      for (const e of entries) {
        const full = path.join(e.parentPath, e.name);
        if (!e.isFile() || full.split(path.sep).includes('serving')) continue;
        if (/\.(ndjson|jsonl|csv)$/i.test(e.name)) out.push(full);
      }
    } else out.push(p);
  }
  return [...new Set(out.map((f) => path.resolve(f)))].sort();
}

async function rows<T>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as T[];
}

/**
 * The DuckDB warehouse adapter (port: Warehouse). One file holds the raw area (raw_events,
 * quarantine, loads) and the derived tables rebuilt by transform().
 */
export async function createDuckDbWarehouse(options: CreateDuckDbWarehouseOptions): Promise<Warehouse> {
  const { logger = silentLogger, onProgress, progressEvery = 100_000 } = options;
  await mkdir(path.dirname(path.resolve(options.path)), { recursive: true });
  const instance = await DuckDBInstance.create(options.path);
  const conn = await instance.connect();
  await conn.run(RAW_DDL);

  async function loadFile(loadId: string, file: string, format: string) {
    const fmt = detectFormat(file, format);
    const sha = await sha256File(file);
    const seen = await rows<{ load_id: string }>(conn, `SELECT load_id FROM load_files WHERE sha256 = '${sha}'`);
    if (seen.length > 0) {
      logger.info('file already loaded, skipped', { file, sha256: sha, previousLoad: seen[0]!.load_id });
      return { path: file, sha256: sha, format: fmt, rows: 0, loaded: 0, quarantined: 0, skipped: true };
    }
    const events = await conn.createAppender('raw_events');
    const refused = await conn.createAppender('quarantine');
    let total = 0;
    let loaded = 0;
    let quarantined = 0;
    const opt = (v: string | null | undefined) => (v === null || v === undefined ? events.appendNull() : events.appendVarchar(v));
    for await (const r of readRawFile(file, fmt)) {
      total++;
      if (r.ok) {
        const e = r.event;
        events.appendVarchar(loadId);
        events.appendVarchar(file);
        events.appendBigInt(BigInt(r.line));
        events.appendVarchar(e.session_id);
        events.appendVarchar(e.event_type);
        opt(e.item_id);
        events.appendTimestamp(new DuckDBTimestampValue(BigInt(e.tsMs) * 1000n));
        opt(e.user_id);
        if (e.price === null || e.price === undefined) events.appendNull();
        else events.appendDouble(e.price);
        opt(e.category);
        opt(e.query);
        events.endRow();
        loaded++;
      } else {
        refused.appendVarchar(loadId);
        refused.appendVarchar(file);
        refused.appendBigInt(BigInt(r.line));
        refused.appendVarchar(r.raw.slice(0, 10_000));
        refused.appendVarchar(r.reason);
        refused.endRow();
        quarantined++;
      }
      if (onProgress && total % progressEvery === 0) onProgress({ file, rows: total });
    }
    events.closeSync();
    refused.closeSync();
    await conn.run(
      `INSERT INTO load_files VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [loadId, file, sha, fmt, total, loaded, quarantined],
    );
    return { path: file, sha256: sha, format: fmt, rows: total, loaded, quarantined, skipped: false };
  }

  const warehouse: Warehouse = {
    async load(paths, loadOptions = {}) {
      const files = await expandInputs(paths);
      if (files.length === 0) throw new SkiffError('BAD_INPUT', `no raw files (.ndjson, .jsonl, .csv) found in ${paths.join(', ')}`);
      const loadId = `load-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
      const startedAt = new Date();
      const results: LoadResult['files'] = [];
      // One transaction per load: a crash part-way leaves no partial load behind.
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const f of files) {
          const r = await loadFile(loadId, f, loadOptions.format ?? 'auto');
          results.push(r);
          logger.info('file loaded', { loadId, file: f, rows: r.rows, loaded: r.loaded, quarantined: r.quarantined, skipped: r.skipped });
        }
        const sum = (k: 'rows' | 'loaded' | 'quarantined') => results.reduce((a, r) => a + r[k], 0);
        await conn.run(`INSERT INTO loads VALUES ($1, $2::TIMESTAMP, now()::TIMESTAMP, $3, $4, $5, $6)`, [
          loadId,
          startedAt.toISOString(),
          files.length,
          sum('rows'),
          sum('loaded'),
          sum('quarantined'),
        ]);
        await conn.run('COMMIT');
        return {
          loadId,
          files: results,
          rows: sum('rows'),
          loaded: sum('loaded'),
          quarantined: sum('quarantined'),
          skipped: results.filter((r) => r.skipped).length,
        };
      } catch (err) {
        await conn.run('ROLLBACK');
        throw err;
      }
    },

    async transform(): Promise<TransformResult> {
      const out: TransformResult['models'] = [];
      for (const m of MODELS) {
        await conn.run(`CREATE OR REPLACE TABLE ${m.name} AS ${m.sql}`);
        const [c] = await rows<{ n: string }>(conn, `SELECT count(*) AS n FROM ${m.name}`);
        out.push({ name: m.name, rows: Number(c?.n ?? 0) });
        logger.info('model built', { model: m.name, rows: Number(c?.n ?? 0) });
      }
      return { models: out };
    },

    async check(): Promise<CheckResult> {
      const checks: CheckResult['checks'] = [];
      const count = async (sql: string) => Number((await rows<{ n: string }>(conn, sql))[0]?.n ?? 0);
      const add = (name: string, bad: number, what: string) =>
        checks.push({ name, passed: bad === 0, detail: bad === 0 ? 'ok' : `${bad} ${what}` });
      add('raw_events.not_null', await count(`SELECT count(*) n FROM raw_events WHERE session_id IS NULL OR ts IS NULL OR event_type IS NULL`), 'rows with a null key column');
      add('stg_events.item_not_null', await count(`SELECT count(*) n FROM stg_events WHERE item_id IS NULL`), 'item events without item_id');
      add('session_sequences.unique_session', await count(`SELECT count(*) n FROM (SELECT session_id FROM session_sequences GROUP BY 1 HAVING count(*) > 1)`), 'duplicated session ids');
      add('session_sequences.length', await count(`SELECT count(*) n FROM session_sequences WHERE length < ${MIN_SESSION_LENGTH} OR length > ${MAX_SESSION_LENGTH} OR len(items) <> length`), `sessions outside [${MIN_SESSION_LENGTH}, ${MAX_SESSION_LENGTH}] items`);
      add('splits.unique_session', await count(`SELECT count(*) n FROM (SELECT session_id FROM splits GROUP BY 1 HAVING count(*) > 1)`), 'sessions in more than one split');
      for (const s of ['train', 'test']) {
        const n = await count(`SELECT count(*) n FROM splits WHERE split = '${s}'`);
        checks.push({ name: `splits.${s}_not_empty`, passed: n > 0, detail: `${n} sessions` });
      }
      add('splits.time_ordered', await count(`SELECT count(*) n FROM (SELECT max(started_at) FILTER (split = 'train') AS a, min(started_at) FILTER (split = 'test') AS b FROM splits) WHERE a >= b`), 'train sessions start after the first test session');
      return { passed: checks.every((c) => c.passed), checks };
    },

    async snapshot(dir: string): Promise<DatasetSnapshot> {
      const loads = await rows<{ load_id: string }>(conn, `SELECT load_id FROM loads ORDER BY started_at, load_id`);
      const loadIds = loads.map((l) => l.load_id);
      const [bounds] = await rows<{ v: string; t: string }>(conn, `SELECT strftime(min(validation_start), '%Y-%m-%dT%H:%M:%S.%gZ') v, strftime(min(test_start), '%Y-%m-%dT%H:%M:%S.%gZ') t FROM splits`);
      const seqs: Record<'train' | 'validation' | 'test', string[][]> = { train: [], validation: [], test: [] };
      const all = await rows<{ split: 'train' | 'validation' | 'test'; items: string[] }>(
        conn,
        `SELECT p.split, q.items FROM session_sequences q JOIN splits p USING (session_id) ORDER BY q.started_at, q.session_id`,
      );
      for (const r of all) seqs[r.split].push(r.items);
      // Content-addressed: the same loads and splits give the same id.
      const body = JSON.stringify(loadIds);
      const snapshotId = `snap-${createHash('sha256').update(body).update(JSON.stringify(seqs)).digest('hex').slice(0, 12)}`;
      const target = path.join(dir, snapshotId);
      const tmp = `${target}.tmp-${process.pid}`;
      await mkdir(tmp, { recursive: true });
      for (const s of ['train', 'validation', 'test'] as const) {
        await writeFile(path.join(tmp, `${s}.json`), JSON.stringify({ sessions: seqs[s] }));
      }
      const items = new Set(seqs.train.flat());
      const snap: DatasetSnapshot = {
        snapshotId,
        loadIds,
        createdAt: new Date().toISOString(),
        dir: target,
        files: { train: path.join(target, 'train.json'), validation: path.join(target, 'validation.json'), test: path.join(target, 'test.json') },
        counts: { train: seqs.train.length, validation: seqs.validation.length, test: seqs.test.length, items: items.size },
        splitTime: { validationStart: bounds?.v ?? '', testStart: bounds?.t ?? '' },
      };
      await writeFile(path.join(tmp, 'snapshot.json'), JSON.stringify(snap, null, 2));
      // Snapshots are immutable: if the same id exists already, keep the old one.
      const exists = await stat(target).catch(() => undefined);
      if (exists) await rm(tmp, { recursive: true, force: true });
      else await rename(tmp, target);
      return snap;
    },

    async close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
  return warehouse;
}
