import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBInstance,
  DuckDBTimestampValue,
  LIST,
  listValue,
  VARCHAR,
  type DuckDBConnection,
} from '@duckdb/node-api';
import {
  DEFAULT_SPLIT_RULE,
  SkiffError,
  SplitRuleSchema,
  silentLogger,
  sqlIdentifier,
  sqlString,
  summariseSplit,
  type CheckResult,
  type DatasetSnapshot,
  type ItemCatalog,
  type LoadFileResult,
  type LoadResult,
  type Logger,
  type MonitoringRunRow,
  type SplitRule,
  type TransformResult,
  type UnloadOptions,
  type UnloadResult,
  type Warehouse,
} from '@skiff/core';
import { rows } from './duckdb-rows.js';
import { loadLinesWithDuckDb, releaseStage, stageLines, type StagedLines } from './fast-load.js';
import { scanFile } from './file-scan.js';
import { defaultActor } from '@skiff/node-io';
import { expandInputs } from './input-discovery.js';
import { migrateRawSchema } from './migrations.js';
import { loadParquetWithDuckDb } from './parquet-load.js';
import { detectFormat, RAW_EXTENSIONS, readRawFile, type ParsedRecord, type RawFormat } from './readers.js';
import { MONITORING_RUNS_DDL, UNLOADS_DDL } from './schema.sql.js';
import { computeSnapshotId, SPLITS, type SnapshotSplitFile, type Split } from './snapshot-id.js';
import { DEFAULT_VARS, loadChecks, loadModels, splitVars, type ModelVars } from './sql-models.js';

export interface CreateDuckDbWarehouseOptions {
  /** DuckDB database file (created if missing). */
  path: string;
  logger?: Logger;
  /** Called every `progressEvery` rows during a load (and once a file is staged, on the DuckDB path). */
  onProgress?: (p: { file: string; rows: number }) => void;
  progressEvery?: number;
  /**
   * How NDJSON and CSV files are read: `duckdb` (default) lets DuckDB read and validate them in SQL,
   * falling back to the JS reader when DuckDB's view of the lines differs; `js` always uses the JS
   * reader. (The public formats always use the JS reader; Parquet always DuckDB.)
   */
  lineEngine?: 'duckdb' | 'js';
  /** Rows without a session id start a new session after this much inactivity of their user (default 30). */
  sessionGapMinutes?: number;
  /** The `raw_events.freshness` check fails when the newest event is older (default: no limit). */
  freshnessMaxAgeHours?: number;
  /** The time split of `transform()` when it is given none (default: session-rec's last-day rule). */
  split?: SplitRule;
  /** The `raw_events.not_future` check fails on events later than their load's start plus this (seconds, default 300). */
  maxClockSkewSeconds?: number;
}

/** What one file of a load did (the port's `LoadFileResult`, with every field the adapter always knows). */
export interface DuckDbLoadFile extends LoadFileResult {
  /** Rows that carry no event by design: blank lines, headers, page views… */
  skippedRows: number;
  /** How the format was chosen. */
  detectedBy: string;
  /** Which reader loaded it: `duckdb` (SQL) or `js`. */
  engine: 'duckdb' | 'js' | 'none';
}

/** `LoadResult` plus the skipped rows: `rows = loaded + quarantined + skippedRows`. */
export interface DuckDbLoadResult extends LoadResult {
  files: DuckDbLoadFile[];
  skippedRows: number;
}

/** The Warehouse port plus what the DuckDB adapter can do beyond it. */
export interface DuckDbWarehouse extends Warehouse {
  load(paths: string[], options?: { format?: string; allowEmpty?: boolean }): Promise<DuckDbLoadResult>;
  transform(options?: {
    split?: SplitRule;
  }): Promise<TransformResult & { models: Array<{ name: string; rows: number; checksum: string }> }>;
  /** Appends one row to `monitoring_runs` (created when missing). */
  recordMonitoringRun(run: MonitoringRunRow): Promise<void>;
  /** Runs a read query and returns its rows as JSON values (big integers as strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * The snapshot `snapshot(dir)` would have written when the warehouse held only these loads: the
   * same SQL models and split run over the raw rows of `loadIds` alone (in temporary tables of a
   * second connection; the derived tables of `transform()` are left alone). Loads added since do
   * not change it, so a model's recorded `lineage.loadIds` rebuild its `lineage.snapshotId`.
   * Unknown load ids are BAD_INPUT.
   */
  snapshotFromLoads(loadIds: string[], dir: string, options?: { split?: SplitRule }): Promise<DatasetSnapshot>;
  unload(loadId: string, options?: UnloadOptions): Promise<UnloadResult>;
}

const ISO_FORMAT = '%Y-%m-%dT%H:%M:%S.%gZ';

/**
 * The DuckDB warehouse adapter (port: Warehouse). One file holds the raw area (raw_events,
 * quarantine, loads) and the derived tables rebuilt by transform().
 */
export async function createDuckDbWarehouse(options: CreateDuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
  const { logger = silentLogger, onProgress, progressEvery = 100_000, lineEngine = 'duckdb' } = options;
  const vars: ModelVars = {
    ...DEFAULT_VARS,
    ...(options.sessionGapMinutes !== undefined ? { session_gap_minutes: options.sessionGapMinutes } : {}),
    ...(options.freshnessMaxAgeHours !== undefined ? { freshness_max_age_hours: options.freshnessMaxAgeHours } : {}),
    ...(options.split ? splitVars(options.split) : {}),
    ...(options.maxClockSkewSeconds !== undefined
      ? { max_clock_skew_seconds: Math.max(0, Math.floor(options.maxClockSkewSeconds)) }
      : {}),
  };
  const models = loadModels(vars);
  const checks = loadChecks(vars);
  await mkdir(path.dirname(path.resolve(options.path)), { recursive: true });
  const instance = await DuckDBInstance.create(options.path);
  const conn = await instance.connect();
  // Stages NDJSON and CSV lines outside the load's transaction (see `stageLines` for why); never writes to the warehouse.
  const stager = await instance.connect();
  // Timestamps are stored as UTC wall time; offsets in raw ISO strings are resolved in UTC.
  await conn.run(`SET TimeZone = 'UTC'`);
  await migrateRawSchema(conn);

  /** Appends parsed records: events to raw_events, refused rows to quarantine; counts every record. */
  async function appendRecords(loadId: string, file: string, records: AsyncIterable<ParsedRecord>) {
    const events = await conn.createAppender('raw_events');
    const refused = await conn.createAppender('quarantine');
    let total = 0;
    let loaded = 0;
    let quarantined = 0;
    let skipped = 0;
    const opt = (v: string | null) => (v === null ? events.appendNull() : events.appendVarchar(v));
    try {
      for await (const r of records) {
        total++;
        if (r.kind === 'event') {
          const e = r.event;
          events.appendVarchar(loadId);
          events.appendVarchar(file);
          events.appendBigInt(BigInt(r.line));
          opt(e.session_id);
          events.appendVarchar(e.event_type);
          opt(e.item_id);
          events.appendTimestamp(new DuckDBTimestampValue(BigInt(e.tsMs) * 1000n));
          opt(e.user_id);
          if (e.price === null) events.appendNull();
          else events.appendDouble(e.price);
          opt(e.category);
          opt(e.query);
          events.endRow();
          loaded++;
        } else if (r.kind === 'quarantine') {
          refused.appendVarchar(loadId);
          refused.appendVarchar(file);
          refused.appendBigInt(BigInt(r.line));
          refused.appendVarchar(r.raw);
          refused.appendVarchar(r.reason);
          refused.appendVarchar(r.code);
          refused.endRow();
          quarantined++;
        } else skipped++;
        if (onProgress && total % progressEvery === 0) onProgress({ file, rows: total });
      }
    } finally {
      events.closeSync();
      refused.closeSync();
    }
    return { rows: total, loaded, quarantined, skipped };
  }

  /** `stages` collects the stage databases of the load, detached once its transaction has ended. */
  async function loadFile(
    loadId: string,
    file: string,
    format: string,
    stages: StagedLines[],
  ): Promise<DuckDbLoadFile> {
    const { format: fmt, detectedBy } = await detectFormat(file, format);
    const phases: Record<string, number> = {};
    const timed = <T>(name: string, p: Promise<T>) => {
      const t = performance.now();
      return p.then((v) => ((phases[name] = (performance.now() - t) / 1000), v));
    };
    // DuckDB reads the lines of an NDJSON or CSV file while JS hashes it (on the other core). If the
    // file turns out to be loaded already, the stage is dropped.
    const useDuckDb = (fmt === 'ndjson' || fmt === 'csv') && lineEngine === 'duckdb' && (await stat(file)).size > 0;
    const staging = useDuckDb
      ? timed('stage', stageLines(stager, file)).then((st) => (stages.push(st), st))
      : undefined;
    const scan = await timed('scan', scanFile(file)).catch(async (err: unknown) => {
      await staging?.catch(() => undefined);
      throw err;
    });
    const staged = await staging;
    try {
      return await loadScanned(loadId, file, fmt, detectedBy, scan, staged, phases);
    } finally {
      if (staged) await releaseStage(stager, staged, false);
    }
  }

  async function loadScanned(
    loadId: string,
    file: string,
    fmt: RawFormat,
    detectedBy: string,
    scan: Awaited<ReturnType<typeof scanFile>>,
    staged: StagedLines | undefined,
    phases: Record<string, number>,
  ): Promise<DuckDbLoadFile> {
    const sha = scan.sha256;
    const seen = await rows<{ load_id: string }>(conn, `SELECT load_id FROM load_files WHERE sha256 = '${sha}'`);
    if (seen.length > 0) {
      logger.info('file already loaded, skipped', { file, sha256: sha, previousLoad: seen[0]!.load_id });
      return {
        path: file,
        sha256: sha,
        format: fmt,
        rows: 0,
        loaded: 0,
        quarantined: 0,
        skipped: true,
        skippedRows: 0,
        detectedBy,
        engine: 'none',
      };
    }
    let engine: 'duckdb' | 'js' = 'js';
    let counts: { rows: number; loaded: number; quarantined: number; skipped: number } | undefined;
    if (fmt === 'parquet') {
      // DuckDB reads Parquet; the rows its SQL does not take go through the JS validator.
      counts = await loadParquetWithDuckDb(conn, {
        loadId,
        file,
        sink: (records) => appendRecords(loadId, file, records),
        onStaged: (n) => onProgress?.({ file, rows: n }),
        timings: phases,
      });
      engine = 'duckdb';
    } else if (staged && (fmt === 'ndjson' || fmt === 'csv') && !scan.hasCr && !scan.hasNul) {
      counts = await loadLinesWithDuckDb(conn, {
        format: fmt,
        loadId,
        file,
        staged,
        stager,
        expectedLines: scan.lines,
        sink: (records) => appendRecords(loadId, file, records),
        onStaged: (n) => onProgress?.({ file, rows: n }),
        timings: phases,
      });
      if (counts) engine = 'duckdb';
      else
        logger.warn(
          'the DuckDB path did not take this file (its lines differ from the JS scan, or line 1 of a CSV is not its header); loading with the JS reader',
          { file, lines: scan.lines },
        );
    }
    if (!counts) {
      const t = performance.now();
      counts = await appendRecords(loadId, file, readRawFile(file, fmt));
      phases['js'] = (performance.now() - t) / 1000;
    }
    logger.debug('file phases (seconds)', { file, engine, ...phases });
    await conn.run(
      `INSERT INTO load_files (load_id, source_file, sha256, format, rows, loaded, quarantined, skipped_rows, detected_by, engine)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [loadId, file, sha, fmt, counts.rows, counts.loaded, counts.quarantined, counts.skipped, detectedBy, engine],
    );
    return {
      path: file,
      sha256: sha,
      format: fmt,
      rows: counts.rows,
      loaded: counts.loaded,
      quarantined: counts.quarantined,
      skipped: false,
      skippedRows: counts.skipped,
      detectedBy,
      engine,
    };
  }

  /**
   * `{ itemId: { category, price } }` over the typed item events (`stg_events`): the latest non-null
   * value of each (by time, then file and line); null when an item never had one. Sorted by item id.
   */
  async function itemCatalog(c: DuckDBConnection): Promise<ItemCatalog> {
    const list = await rows<{ item_id: string; category: string | null; price: number | null }>(
      c,
      `SELECT item_id,
              arg_max(category, (ts, source_file, line)) FILTER (WHERE category IS NOT NULL) AS category,
              arg_max(price, (ts, source_file, line)) FILTER (WHERE price IS NOT NULL) AS price
       FROM stg_events GROUP BY item_id ORDER BY item_id`,
    );
    // fromEntries defines own properties, so an item called `__proto__` is kept like any other.
    return Object.fromEntries(
      list.map((r) => [
        r.item_id,
        { category: r.category ?? null, price: r.price === null || r.price === undefined ? null : Number(r.price) },
      ]),
    );
  }

  /** Writes the splits of the derived tables `c` sees as a content-addressed snapshot under `dir`. */
  async function writeSnapshot(c: DuckDBConnection, dir: string): Promise<DatasetSnapshot> {
    const loads = await rows<{ load_id: string }>(c, `SELECT load_id FROM loads ORDER BY started_at, load_id`);
    const loadIds = loads.map((l) => l.load_id);
    const [bounds] = await rows<{ v: string | null; t: string | null; r: string | null }>(
      c,
      `SELECT strftime(min(validation_start), '${ISO_FORMAT}') v, strftime(min(test_start), '${ISO_FORMAT}') t, any_value(split_rule) r FROM splits`,
    );
    const seqs: Record<Split, string[][]> = { train: [], validation: [], test: [] };
    // Aligned with `sessions`: the ISO start time of each session (the monitor's hour_of_day reference).
    const starts: Record<Split, string[]> = { train: [], validation: [], test: [] };
    // The last event of each session: what the split is decided on, and V-SKNN's recency.
    const ends: Record<Split, string[]> = { train: [], validation: [], test: [] };
    const all = await rows<{ split: Split; items: string[]; started_at: string; ended_at: string }>(
      c,
      `SELECT p.split, q.items, strftime(q.started_at, '${ISO_FORMAT}') AS started_at, strftime(q.ended_at, '${ISO_FORMAT}') AS ended_at
       FROM session_sequences q JOIN splits p USING (session_id) ORDER BY q.started_at, q.session_id`,
    );
    for (const r of all) {
      seqs[r.split].push(r.items);
      starts[r.split].push(r.started_at);
      ends[r.split].push(r.ended_at);
    }
    const catalogJson = JSON.stringify(await itemCatalog(c));
    const parsedRule = SplitRuleSchema.safeParse(bounds?.r ? JSON.parse(bounds.r) : DEFAULT_SPLIT_RULE);
    const rule = parsedRule.success ? parsedRule.data : DEFAULT_SPLIT_RULE;
    // Content-addressed: the same loads, splits and rule give the same id (everything written is
    // hashed, so a snapshot written by an older version, without startedAt/items.json, is never reused).
    const snapshotId = computeSnapshotId(loadIds, seqs, starts, catalogJson, rule);
    const target = path.join(dir, snapshotId);
    const tmp = `${target}.tmp-${process.pid}`;
    await mkdir(tmp, { recursive: true });
    for (const s of SPLITS) {
      const file: SnapshotSplitFile = { sessions: seqs[s], startedAt: starts[s], endedAt: ends[s] };
      await writeFile(path.join(tmp, `${s}.json`), JSON.stringify(file));
    }
    await writeFile(path.join(tmp, 'items.json'), catalogJson);
    const items = new Set(seqs.train.flat());
    const splitTime = { validationStart: bounds?.v ?? '', testStart: bounds?.t ?? '' };
    const snap: DatasetSnapshot = {
      snapshotId,
      loadIds,
      createdAt: new Date().toISOString(),
      dir: target,
      files: {
        train: path.join(target, 'train.json'),
        validation: path.join(target, 'validation.json'),
        test: path.join(target, 'test.json'),
      },
      counts: {
        train: seqs.train.length,
        validation: seqs.validation.length,
        test: seqs.test.length,
        items: items.size,
      },
      splitTime,
      split: summariseSplit(seqs, { rule, ...splitTime }),
    };
    await writeFile(path.join(tmp, 'snapshot.json'), JSON.stringify(snap, null, 2));
    // Snapshots are immutable: if the same id exists already, keep the old one.
    const exists = await stat(target).catch(() => undefined);
    if (exists) await rm(tmp, { recursive: true, force: true });
    else await rename(tmp, target);
    return snap;
  }

  /** Rebuilds the derived tables on the main connection (inside the caller's transaction, if any). */
  async function rebuild(run: typeof models) {
    const out: Array<{ name: string; rows: number; checksum: string }> = [];
    for (const m of run) {
      await conn.run(`CREATE OR REPLACE TABLE ${m.name} AS ${m.sql}`);
      // Order-independent content checksum: the same raw data must rebuild the same tables.
      const [c] = await rows<{ n: string; h: string | null }>(
        conn,
        `SELECT count(*) AS n, CAST(bit_xor(hash(CAST(t AS VARCHAR))) AS VARCHAR) AS h FROM ${m.name} t`,
      );
      out.push({ name: m.name, rows: Number(c?.n ?? 0), checksum: c?.h ?? '0' });
      logger.info('model built', { model: m.name, rows: Number(c?.n ?? 0) });
    }
    return { models: out };
  }

  const warehouse: DuckDbWarehouse = {
    async load(paths, loadOptions = {}) {
      const files = await expandInputs(paths, { missingOk: loadOptions.allowEmpty === true });
      const loadId = `load-${new Date()
        .toISOString()
        .replace(/[-:.TZ]/g, '')
        .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
      if (files.length === 0 && loadOptions.allowEmpty) {
        // Like a load whose files were all loaded before: nothing is written, the warehouse holds what it held.
        logger.info('nothing new to load', { loadId, paths });
        return { loadId, files: [], rows: 0, loaded: 0, quarantined: 0, skipped: 0, skippedRows: 0 };
      }
      if (files.length === 0)
        throw new SkiffError('BAD_INPUT', `no raw files (${RAW_EXTENSIONS.join(', ')}) found in ${paths.join(', ')}`);
      const startedAt = new Date();
      const results: DuckDbLoadFile[] = [];
      const stages: StagedLines[] = [];
      // Rows of a load need no insertion order: each carries its file and line, and nothing reads raw
      // tables in storage order. Kept, DuckDB wrote the vectors a filter had thinned out (1 % bad lines
      // thin almost every vector) a third slower: 1.04 s instead of 0.69 s for 1M CSV lines. Session
      // scope (this connection only: the stager's read must keep file order) and reset after the
      // transaction ends (an aborted transaction refuses RESET).
      await conn.run('SET SESSION preserve_insertion_order = false');
      // One transaction per load: a crash part-way leaves no partial load behind.
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const f of files) {
          const r = await loadFile(loadId, f, loadOptions.format ?? 'auto', stages);
          results.push(r);
          logger.info('file loaded', {
            loadId,
            file: f,
            format: r.format,
            detectedBy: r.detectedBy,
            engine: r.engine,
            rows: r.rows,
            loaded: r.loaded,
            quarantined: r.quarantined,
            skippedRows: r.skippedRows,
            skipped: r.skipped,
          });
        }
        const sum = (k: 'rows' | 'loaded' | 'quarantined' | 'skippedRows') => results.reduce((a, r) => a + r[k], 0);
        // A load whose files were all loaded before writes nothing at all (so snapshots stay the same).
        if (results.some((r) => !r.skipped))
          await conn.run(
            `INSERT INTO loads (load_id, started_at, finished_at, files, rows, loaded, quarantined, skipped_rows)
           VALUES ($1, $2::TIMESTAMP, now()::TIMESTAMP, $3, $4, $5, $6, $7)`,
            [
              loadId,
              startedAt.toISOString(),
              files.length,
              sum('rows'),
              sum('loaded'),
              sum('quarantined'),
              sum('skippedRows'),
            ],
          );
        await conn.run('COMMIT');
        return {
          loadId,
          files: results,
          rows: sum('rows'),
          loaded: sum('loaded'),
          quarantined: sum('quarantined'),
          skipped: results.filter((r) => r.skipped).length,
          skippedRows: sum('skippedRows'),
        };
      } catch (err) {
        await conn.run('ROLLBACK');
        throw err;
      } finally {
        await conn.run('RESET SESSION preserve_insertion_order');
        for (const st of stages) await releaseStage(stager, st, true).catch(() => undefined);
      }
    },

    async transform(transformOptions = {}) {
      return rebuild(transformOptions.split ? loadModels({ ...vars, ...splitVars(transformOptions.split) }) : models);
    },

    async unload(loadId, unloadOptions = {}) {
      const [load] = await rows<{ started_at: string; files: number; loaded: string; quarantined: string }>(
        conn,
        `SELECT strftime(started_at, '${ISO_FORMAT}') AS started_at, files, loaded, quarantined FROM loads WHERE load_id = ${sqlString(loadId)}`,
      );
      if (!load) {
        const [gone] = await rows<{ at: string }>(
          conn,
          `SELECT strftime(max(unloaded_at), '${ISO_FORMAT}') AS at FROM unloads WHERE load_id = ${sqlString(loadId)}`,
        ).catch(() => []); // no unloads table yet: nothing was ever removed
        throw new SkiffError(
          'BAD_INPUT',
          gone?.at
            ? `load ${loadId} was removed already (${gone.at}); see the unloads table`
            : `no load ${loadId} in the warehouse (skiff sql "SELECT * FROM loads" lists them)`,
        );
      }
      const forgetFiles = unloadOptions.forgetFiles === true;
      const forced = [...new Set(unloadOptions.forcedVersions ?? [])].sort();
      const unloadedAt = new Date().toISOString();
      await conn.run(UNLOADS_DDL);
      // One transaction: the rows, the record of their removal and the derived tables rebuilt
      // without them land together or not at all (a crash part-way leaves the load in place).
      await conn.run('BEGIN TRANSACTION');
      try {
        const id = sqlString(loadId);
        const [counts] = await rows<{ e: string; q: string }>(
          conn,
          `SELECT (SELECT count(*) FROM raw_events WHERE load_id = ${id}) AS e, (SELECT count(*) FROM quarantine WHERE load_id = ${id}) AS q`,
        );
        await conn.run(
          `INSERT INTO unloads (load_id, unloaded_at, actor, reason, load_started_at, files, raw_events, quarantined, files_forgotten, forced_versions)
           VALUES ($load_id, CAST(CAST($unloaded_at AS TIMESTAMPTZ) AS TIMESTAMP), $actor, $reason, CAST(CAST($started AS TIMESTAMPTZ) AS TIMESTAMP), $files, $raw_events, $quarantined, $forgotten, $forced)`,
          {
            load_id: loadId,
            unloaded_at: unloadedAt,
            actor: unloadOptions.actor ?? defaultActor(),
            reason: unloadOptions.reason ?? `unload of ${loadId}`,
            started: load.started_at,
            files: Number(load.files),
            raw_events: BigInt(counts?.e ?? 0),
            quarantined: BigInt(counts?.q ?? 0),
            forgotten: forgetFiles,
            forced: listValue(forced),
          },
          {
            load_id: VARCHAR,
            unloaded_at: VARCHAR,
            actor: VARCHAR,
            reason: VARCHAR,
            started: VARCHAR,
            files: BIGINT,
            raw_events: BIGINT,
            quarantined: BIGINT,
            forgotten: BOOLEAN,
            forced: LIST(VARCHAR),
          },
        );
        await conn.run(`DELETE FROM raw_events WHERE load_id = ${id}`);
        await conn.run(`DELETE FROM quarantine WHERE load_id = ${id}`);
        await conn.run(`DELETE FROM loads WHERE load_id = ${id}`);
        if (forgetFiles) await conn.run(`DELETE FROM load_files WHERE load_id = ${id}`);
        const rebuilt = await rebuild(models);
        await conn.run('COMMIT');
        const result: UnloadResult = {
          loadId,
          unloadedAt,
          rawEvents: Number(counts?.e ?? 0),
          quarantined: Number(counts?.q ?? 0),
          files: Number(load.files),
          filesForgotten: forgetFiles,
          models: rebuilt.models.map(({ name, rows: n }) => ({ name, rows: n })),
        };
        logger.info('load removed', { ...result, models: undefined, forcedVersions: forced });
        return result;
      } catch (err) {
        await conn.run('ROLLBACK');
        throw err;
      }
    },

    async check(): Promise<CheckResult> {
      const results: CheckResult['checks'] = [];
      for (const c of checks) {
        try {
          // Each check returns one row: failures (0 = passed), detail (shown on failure), optional info (shown on success).
          const [r] = await rows<{ failures: string | number | null; detail?: string | null; info?: string | null }>(
            conn,
            c.sql,
          );
          const failures = Number(r?.failures ?? 0);
          results.push({
            name: c.name,
            passed: failures === 0,
            detail: failures === 0 ? (r?.info ?? 'ok') : (r?.detail ?? `${failures} failures`),
          });
        } catch (err) {
          results.push({
            name: c.name,
            passed: false,
            detail: `check could not run: ${(err as Error).message.split('\n')[0]}`,
          });
        }
      }
      return { passed: results.every((c) => c.passed), checks: results };
    },

    async snapshot(dir: string): Promise<DatasetSnapshot> {
      return writeSnapshot(conn, dir);
    },

    async snapshotFromLoads(
      loadIds: string[],
      dir: string,
      snapshotOptions: { split?: SplitRule } = {},
    ): Promise<DatasetSnapshot> {
      const wanted = [...new Set(loadIds)];
      if (wanted.length === 0) throw new SkiffError('BAD_INPUT', 'snapshotFromLoads: no load ids given');
      const list = wanted.map(sqlString).join(', ');
      const known = new Set(
        (await rows<{ load_id: string }>(conn, `SELECT load_id FROM loads WHERE load_id IN (${list})`)).map(
          (r) => r.load_id,
        ),
      );
      const missing = wanted.filter((id) => !known.has(id));
      if (missing.length > 0)
        throw new SkiffError(
          'BAD_INPUT',
          `load${missing.length === 1 ? '' : 's'} not in the warehouse: ${missing.join(', ')}`,
        );
      // A second connection whose temporary views and tables shadow the raw and derived tables:
      // the models' unqualified names resolve to them, and the main connection sees none of it.
      const c = await instance.connect();
      try {
        await c.run(`SET TimeZone = 'UTC'`);
        const [{ db } = { db: '' }] = await rows<{ db: string }>(c, `SELECT current_database() AS db`);
        const main = `${sqlIdentifier(db)}.main`;
        await c.run(`CREATE TEMP VIEW raw_events AS SELECT * FROM ${main}.raw_events WHERE load_id IN (${list})`);
        await c.run(`CREATE TEMP VIEW loads AS SELECT * FROM ${main}.loads WHERE load_id IN (${list})`);
        const run = snapshotOptions.split ? loadModels({ ...vars, ...splitVars(snapshotOptions.split) }) : models;
        for (const m of run) await c.run(`CREATE TEMP TABLE ${m.name} AS ${m.sql}`);
        const snap = await writeSnapshot(c, dir);
        logger.info('snapshot rebuilt from loads', { loadIds: snap.loadIds, snapshotId: snap.snapshotId });
        return snap;
      } finally {
        c.closeSync();
      }
    },

    async recordMonitoringRun(run: MonitoringRunRow) {
      if (Number.isNaN(Date.parse(run.runAt)))
        throw new SkiffError('BAD_INPUT', `monitoring run: runAt "${run.runAt}" is not an ISO-8601 time`);
      for (const k of ['referenceRows', 'currentRows'] as const)
        if (!Number.isSafeInteger(run[k]) || run[k] < 0)
          throw new SkiffError('BAD_INPUT', `monitoring run: ${k} must be a non-negative integer, got ${run[k]}`);
      await conn.run(MONITORING_RUNS_DDL);
      const [valid] = await rows<{ ok: boolean }>(
        conn,
        `SELECT TRY_CAST(${sqlString(run.runAt)} AS TIMESTAMPTZ) IS NOT NULL AS ok`,
      );
      if (!valid?.ok) throw new SkiffError('BAD_INPUT', `monitoring run: runAt "${run.runAt}" is not an ISO-8601 time`);
      await conn.run(
        `INSERT INTO monitoring_runs (run_at, model_version, dataset_drift, share, drift_share, reference_rows, current_rows, drifted_columns, online_hr20, report_path, quality_drop)
         VALUES (CAST(CAST($run_at AS TIMESTAMPTZ) AS TIMESTAMP), $model_version, $dataset_drift, $share, $drift_share, $reference_rows, $current_rows, $drifted_columns, $online_hr20, $report_path, $quality_drop)`,
        {
          run_at: run.runAt,
          model_version: run.modelVersion,
          dataset_drift: run.datasetDrift,
          share: run.share,
          drift_share: run.driftShare,
          reference_rows: BigInt(run.referenceRows),
          current_rows: BigInt(run.currentRows),
          drifted_columns: listValue(run.driftedColumns),
          online_hr20: run.onlineHr20,
          report_path: run.reportPath,
          quality_drop: run.qualityDrop ?? null,
        },
        {
          run_at: VARCHAR,
          model_version: VARCHAR,
          dataset_drift: BOOLEAN,
          share: DOUBLE,
          drift_share: DOUBLE,
          reference_rows: BIGINT,
          current_rows: BIGINT,
          drifted_columns: LIST(VARCHAR),
          online_hr20: DOUBLE,
          report_path: VARCHAR,
          quality_drop: BOOLEAN,
        },
      );
      logger.info('monitoring run recorded', {
        runAt: run.runAt,
        modelVersion: run.modelVersion,
        datasetDrift: run.datasetDrift,
      });
    },

    async query<T = Record<string, unknown>>(sql: string) {
      return rows<T>(conn, sql);
    },

    async close() {
      stager.closeSync();
      conn.closeSync();
      instance.closeSync();
    },
  };
  return warehouse;
}
