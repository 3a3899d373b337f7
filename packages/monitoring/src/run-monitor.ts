import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_QUALITY_GATE,
  mulberry32,
  parseTimestampMs,
  SkiffError,
  type ItemCatalog,
  type QualityGate,
  type Logger,
  type ModelRegistry,
  type MonitorRunResult,
  type Recommender,
} from '@skiff/core';
import { computeDrift, type ColumnValues } from './drift.js';
import { readCsvFrame } from './csv.js';
import { ndjsonFiles, ndjsonLines } from '@skiff/node-io';
import { writeReport } from './report.js';
import {
  categoryLookup,
  hourOfDay,
  MONITORED_COLUMNS,
  popularityBuckets,
  referenceCategories,
  referenceFrame,
  referenceHours,
  referenceRecommendationFrame,
  referenceTimeOf,
  samplePrefixes,
  type Frame,
  type ServingRow,
  type TrainSnapshotFile,
} from './features.js';
import { createSessionLengthSample } from './session-sample.js';
import {
  createOnlineQualityAccumulator,
  createPredictionAccumulator,
  readOnlineEvents,
  type OnlineQuality,
  type PredictionDescriptors,
  type SessionEvents,
} from './online.js';
import type { ColumnKind } from './stattests.js';

export interface RunMonitorOptions {
  registry: ModelRegistry;
  servingLogDir: string;
  /** Where dataset snapshots live (the reference is `<snapshotsDir>/<snapshotId>/train.json`). */
  snapshotsDir: string;
  reportsDir: string;
  logger: Logger;
  now?: Date;
  /** Only serving records from the last N hours (default: all). */
  windowHours?: number;
  /** Compare two CSV files instead (every shared column; numeric when every value parses as a number). */
  referenceCsv?: string;
  currentCsv?: string;
  alias?: string;
  /**
   * Logged follow-up events (raw event contract, NDJSON) for online hr/mrr. Default: the `online`
   * folder next to `servingLogDir` (where the serving app writes them). Serving mode only.
   */
  eventsDir?: string;
  /**
   * At most this many serving records feed the drift columns (a seeded uniform sample beyond it;
   * default 1,000,000), so memory stays bounded on any log. Online quality and prediction
   * descriptors always count every record.
   */
  maxCurrentRows?: number;
  /**
   * The served model. When given, the reference side of `rec_popularity_bucket` / `top_score` is
   * its `recommendBatch` on a deterministic sample of reference prefixes; without it those two
   * columns are skipped. Its vocabulary size also normalises prediction coverage.
   */
  recommender?: Recommender;
  /** Reference prefixes scored by `recommender` (default 5000, the maximum). */
  recommenderSample?: number;
  /** Evidently workspace folder (default `<reportsDir>/evidently-workspace`). */
  workspaceDir?: string;
  /** Evidently project name in the workspace (default 'skiff'). */
  projectName?: string;
  /**
   * Quality-drop rule: online `metric` (from logged next events) below the served version's
   * offline test value by more than `maxRelativeDrop` (0.2 = 20 %), once at least `minEvents`
   * served requests have a next event. Default: hr@20, 0.2, 200.
   */
  qualityGate?: Partial<QualityGate>;
  /**
   * Dataset drift (what starts a retraining run) when at least this share of the tested columns
   * drifted: Evidently's `drift_share` (default 0.5, Evidently's own default).
   */
  driftShare?: number;
}

/** The quality-drop verdict of a run: both numbers and the rule, so an alert can say why. */
export interface QualityVerdict extends QualityGate {
  /** Online value in this window (null without enough events). */
  online: number | null;
  /** The served version's offline test value (its registered metric; null when it has none). */
  offline: number | null;
  /** 1 − online/offline (null when either is missing). */
  relativeDrop: number | null;
  /** Served requests with a next event in the window. */
  events: number;
  dropped: boolean;
  reason: string;
}

/**
 * What `runMonitor` returns: core's `MonitorRunResult` with every per-run detail present. Core leaves
 * them optional because a runner can report a verdict without them (a CSV-only run, a test's fake);
 * `runMonitor` always fills them (null where the data does not allow a value).
 */
export interface SkiffMonitorRunResult extends MonitorRunResult {
  /** Evidently local workspace holding every run (`evidently ui --workspace <workspacePath>`). */
  workspacePath: string;
  /** The project id in that workspace (stable across runs) and this run's snapshot file. */
  workspaceProjectId: string;
  workspaceSnapshotPath: string;
  /** Online quality from logged next events; null without event logs (or in CSV mode). */
  online: OnlineQuality | null;
  /** Prediction-drift descriptors of the current window; null in CSV mode. */
  prediction: PredictionDescriptors | null;
  /** Monitored columns left out for lack of data. */
  skippedColumns: Array<{ column: string; reason: string }>;
  /** Online quality against the served version's offline metric; null in CSV mode. */
  quality: QualityVerdict | null;
}

const MAX_RECOMMENDER_SAMPLE = 5000;

/** Reads serving records, skipping lines that do not parse (counted and logged, never fatal). */
export async function readServingLogs(dir: string, since: Date | null, logger: Logger): Promise<ServingRow[]> {
  const rows: ServingRow[] = [];
  let bad = 0;
  for (const f of await ndjsonFiles(dir)) {
    for await (const line of ndjsonLines(f)) {
      try {
        const r = JSON.parse(line) as ServingRow & { ts: string };
        if (!Array.isArray(r.items) || !Array.isArray(r.recommended)) throw new Error('shape');
        if (since && (parseTimestampMs(r.ts) ?? NaN) < since.getTime()) continue;
        rows.push(r);
      } catch {
        bad++;
      }
    }
  }
  if (bad) logger.warn('serving log lines skipped', { bad });
  return rows;
}

/** The part of a serving record the drift columns need (a few numbers and two item ids). */
interface CurrentSample {
  sessionLength: number;
  sessionId: string | null;
  lastItem: string | null;
  tsMs: number | null;
  topItem: string | null;
  topScore: number | null;
}

export interface ServingScan {
  /** Records read (after the time window). */
  rows: number;
  /** Records kept for the drift columns: all of them up to `maxRows`, else a seeded uniform sample. */
  sampled: number;
  sample: CurrentSample[];
  /**
   * `session_length`: the longest request of each served session, exact, for every session up to
   * `maxRows` sessions (at most 200,000), else for a seeded sample of whole sessions (never a record
   * sample, which sees only part of a long session).
   */
  sessionLengths: number[];
  online: OnlineQuality;
  prediction: PredictionDescriptors;
  spanHours: number;
}

/**
 * Sessions kept for `session_length`: as many as the reference column holds (its 200,000 training
 * sessions), which bounds the sample's memory well below the record sample's.
 */
const MAX_SESSIONS = 200_000;

/**
 * Streams the serving log once with bounded memory: online quality, prediction descriptors and the
 * time span over every record; the drift columns from at most `maxRows` records (reservoir sampling,
 * seeded, so the same log gives the same sample). Below the cap every record is kept, in file order.
 */
export async function scanServingLogs(
  dir: string,
  since: Date | null,
  logger: Logger,
  options: { events: SessionEvents; vocabularySize?: number | null; maxRows?: number; seed?: number },
): Promise<ServingScan> {
  const maxRows = Math.max(1, options.maxRows ?? 1_000_000);
  const rng = mulberry32(options.seed ?? 1);
  const online = createOnlineQualityAccumulator(options.events);
  const prediction = createPredictionAccumulator(options.vocabularySize ?? null);
  const sample: CurrentSample[] = [];
  const sessions = createSessionLengthSample(Math.min(maxRows, MAX_SESSIONS), options.seed ?? 1);
  let rows = 0;
  let bad = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of await ndjsonFiles(dir)) {
    for await (const line of ndjsonLines(f)) {
      let r: ServingRow & { ts: string };
      try {
        r = JSON.parse(line) as ServingRow & { ts: string };
        if (!Array.isArray(r.items) || !Array.isArray(r.recommended)) throw new Error('shape');
      } catch {
        bad++;
        continue;
      }
      if (since && (parseTimestampMs(r.ts) ?? NaN) < since.getTime()) continue;
      rows++;
      online.add(r);
      prediction.add(r);
      const tsMs = parseTimestampMs(r.ts);
      if (tsMs !== null) {
        if (tsMs < lo) lo = tsMs;
        if (tsMs > hi) hi = tsMs;
      }
      const top = r.recommended[0];
      const s: CurrentSample = {
        sessionLength: r.items.length,
        sessionId: typeof r.sessionId === 'string' && r.sessionId !== '' ? r.sessionId : null,
        lastItem: r.items.length ? (r.items[r.items.length - 1] ?? null) : null,
        tsMs,
        topItem: top ? top.itemId : null,
        topScore: top && Number.isFinite(top.score) ? top.score : null,
      };
      sessions.add(s.sessionId, s.sessionLength);
      if (sample.length < maxRows) sample.push(s);
      else {
        const j = Math.floor(rng() * rows);
        if (j < maxRows) sample[j] = s;
      }
    }
  }
  if (bad) logger.warn('serving log lines skipped', { bad });
  return {
    rows,
    sampled: sample.length,
    sample,
    sessionLengths: sessions.lengths(),
    online: online.result(),
    prediction: prediction.result(),
    spanHours: hi >= lo ? (hi - lo) / 3_600_000 : 0,
  };
}

/** currentFrame and currentCategories over the scan's sample (session_length over its session sample). */
function sampleFrame(scan: ServingScan, bucket: (item: string) => string): Frame {
  const { sample } = scan;
  return {
    session_length: scan.sessionLengths,
    item_popularity_bucket: sample.map((r) => (r.lastItem !== null ? bucket(r.lastItem) : null)),
    hour_of_day: sample.map((r) => hourOfDay(r.tsMs)),
    rec_popularity_bucket: sample.map((r) => (r.topItem !== null ? bucket(r.topItem) : null)),
    top_score: sample.map((r) => r.topScore),
  };
}

/**
 * One monitoring run (docs/design.md, Monitoring): reference = the served model's training snapshot,
 * current = the serving log; Evidently's default tests per column; snapshot + HTML + JSON.
 */
export async function runMonitor(options: RunMonitorOptions): Promise<SkiffMonitorRunResult> {
  const { registry, servingLogDir, reportsDir, logger, now = new Date(), alias = 'production' } = options;
  let reference: Record<string, ColumnValues>;
  let current: Record<string, ColumnValues>;
  let columns: Array<{ name: string; type: ColumnKind }>;
  let modelVersion: string | null = null;
  let online: OnlineQuality | null = null;
  let prediction: PredictionDescriptors | null = null;
  let quality: QualityVerdict | null = null;
  const skippedColumns: Array<{ column: string; reason: string }> = [];

  if (options.referenceCsv || options.currentCsv) {
    if (!options.referenceCsv || !options.currentCsv)
      throw new SkiffError('BAD_INPUT', '--reference and --current must be given together');
    const ref = await readCsvFrame(options.referenceCsv);
    const cur = await readCsvFrame(options.currentCsv);
    columns = ref.columns.filter((c) => c.name in cur.frame);
    reference = ref.frame;
    current = cur.frame;
  } else {
    const { manifest } = await registry.get(alias);
    modelVersion = manifest.version;
    const trainFile = path.join(options.snapshotsDir, manifest.lineage.snapshotId, 'train.json');
    const trainSnap = await readFile(trainFile, 'utf8').then(
      (t) => JSON.parse(t) as TrainSnapshotFile,
      () => {
        throw new SkiffError('BAD_INPUT', `training snapshot of ${manifest.version} not found at ${trainFile}`);
      },
    );
    const train = trainSnap.sessions;
    const bucket = popularityBuckets(train);
    const since = options.windowHours ? new Date(now.getTime() - options.windowHours * 3_600_000) : null;
    // Events first (their own, smaller log), then one streaming pass over the serving log.
    const eventsDir = options.eventsDir ?? path.join(servingLogDir, '..', 'online');
    const ev = await readOnlineEvents(eventsDir, logger);
    const scan = await scanServingLogs(servingLogDir, since, logger, {
      events: ev.events,
      vocabularySize: options.recommender?.vocabulary.length ?? null,
      ...(options.maxCurrentRows ? { maxRows: options.maxCurrentRows } : {}),
    });
    if (scan.rows === 0)
      throw new SkiffError(
        'BAD_INPUT',
        `no serving records in ${servingLogDir}${since ? ` since ${since.toISOString()}` : ''}`,
      );
    if (scan.sampled < scan.rows)
      logger.info('drift columns computed on a uniform sample of the serving log', {
        rows: scan.rows,
        sampled: scan.sampled,
      });
    reference = referenceFrame(train, bucket);
    const cur = sampleFrame(scan, bucket);
    current = cur;
    columns = [...MONITORED_COLUMNS];

    // category: the last item's category, from the snapshot's catalogue (items.json).
    const itemsFile = path.join(options.snapshotsDir, manifest.lineage.snapshotId, 'items.json');
    const catalog = await readFile(itemsFile, 'utf8').then(
      (t) => JSON.parse(t) as ItemCatalog,
      () => null,
    );
    if (!catalog) skippedColumns.push({ column: 'category', reason: 'the snapshot has no items.json' });
    else {
      const categoryOf = categoryLookup(catalog);
      reference.category = referenceCategories(train, categoryOf);
      current.category = scan.sample.map((r) => (r.lastItem !== null ? categoryOf(r.lastItem) : null));
      columns.push({ name: 'category', type: 'cat' });
    }
    // hour_of_day: needs request times on both sides, and a current window covering a whole day.
    const timeOf = referenceTimeOf(trainSnap);
    const span = scan.spanHours;
    if (!timeOf) skippedColumns.push({ column: 'hour_of_day', reason: 'train.json carries no timestamps/startedAt' });
    else if (span < 24)
      skippedColumns.push({
        column: 'hour_of_day',
        reason: `the current window covers ${span.toFixed(1)} h; hour of day is compared over 24 h or more`,
      });
    else {
      reference.hour_of_day = referenceHours(trainSnap, timeOf);
      columns.push({ name: 'hour_of_day', type: 'cat' });
    }
    // rec_popularity_bucket / top_score: the reference side needs the served model.
    if (!options.recommender) {
      for (const c of ['rec_popularity_bucket', 'top_score'])
        skippedColumns.push({ column: c, reason: 'no recommender given for the reference side' });
    } else {
      const size = Math.min(MAX_RECOMMENDER_SAMPLE, Math.max(1, options.recommenderSample ?? MAX_RECOMMENDER_SAMPLE));
      const recRef = referenceRecommendationFrame(samplePrefixes(train, size), options.recommender, bucket);
      Object.assign(reference, recRef);
      columns.push({ name: 'rec_popularity_bucket', type: 'cat' }, { name: 'top_score', type: 'num' });
    }
    // A column with no usable value on either side cannot be tested (Evidently raises); skip it instead.
    columns = columns.filter((c) => {
      const side = !hasValue(reference[c.name]) ? 'reference' : !hasValue(current[c.name]) ? 'current' : null;
      if (side) skippedColumns.push({ column: c.name, reason: `no ${side} values` });
      return side === null;
    });
    for (const name of Object.keys(current)) if (!columns.some((c) => c.name === name)) delete current[name];

    online = ev.files > 0 ? scan.online : null;
    quality = qualityVerdict({ ...DEFAULT_QUALITY_GATE, ...options.qualityGate }, online, manifest.metrics);
    prediction = scan.prediction;
  }

  const result = computeDrift({
    reference,
    current,
    columns,
    ...(options.driftShare !== undefined ? { driftShare: options.driftShare } : {}),
  });
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(reportsDir, stamp);
  const workspacePath = options.workspaceDir ?? path.join(reportsDir, 'evidently-workspace');
  const paths = await writeReport({
    result,
    data: { reference, current },
    outDir,
    title: `skiff drift report${modelVersion ? ` — model ${modelVersion}` : ''}`,
    snapshot: {
      name: `skiff monitor ${now.toISOString()}`,
      timestamp: now,
      metadata: { model_version: modelVersion ?? 'none', alias, mode: options.referenceCsv ? 'csv' : 'serving' },
      tags: ['skiff', 'monitoring'],
    },
    html: options.referenceCsv ? { skippedColumns } : { online, prediction, skippedColumns, quality },
    workspace: { path: workspacePath, projectName: options.projectName ?? 'skiff', now },
  });
  // Rows = requests (the longest column): session_length has one value per session.
  const referenceRows = Math.max(0, ...Object.values(reference).map((v) => v.length));
  const currentRows = Math.max(0, ...Object.values(current).map((v) => v.length));
  logger.info('monitoring run finished', {
    datasetDrift: result.datasetDrift,
    share: result.share,
    modelVersion,
    report: paths.htmlPath,
    online,
    qualityDrop: quality?.dropped ?? false,
    skipped: skippedColumns.map((c) => c.column),
  });
  return {
    datasetDrift: result.datasetDrift,
    driftShare: result.driftShare,
    share: result.share,
    columns: result.columns.map((c) => ({
      column: c.column,
      method: c.method,
      score: c.score,
      threshold: c.threshold,
      drifted: c.drifted,
    })),
    snapshotPath: paths.snapshotPath,
    htmlPath: paths.htmlPath,
    jsonPath: paths.jsonPath,
    referenceRows,
    currentRows,
    modelVersion,
    workspacePath,
    workspaceProjectId: paths.workspace!.projectId,
    workspaceSnapshotPath: paths.workspace!.snapshotPath,
    online,
    prediction,
    skippedColumns,
    quality,
  };
}

/** Applies the quality-drop rule (see `RunMonitorOptions.qualityGate`). */
export function qualityVerdict(
  gate: QualityGate,
  online: OnlineQuality | null,
  offlineMetrics: Record<string, number>,
): QualityVerdict {
  const events = online?.withNextEvent ?? 0;
  const offlineValue = offlineMetrics[gate.metric];
  const offline = typeof offlineValue === 'number' && Number.isFinite(offlineValue) ? offlineValue : null;
  const onlineValue = online?.[gate.metric] ?? null;
  const base = { ...gate, offline, events };
  if (onlineValue === null || events < gate.minEvents)
    return {
      ...base,
      online: onlineValue,
      relativeDrop: null,
      dropped: false,
      reason: `${events} served requests with a next event (< ${gate.minEvents}): not judged`,
    };
  if (offline === null || offline <= 0)
    return {
      ...base,
      online: onlineValue,
      relativeDrop: null,
      dropped: false,
      reason: `the served version has no offline ${gate.metric}: not judged`,
    };
  const relativeDrop = 1 - onlineValue / offline;
  const dropped = relativeDrop > gate.maxRelativeDrop;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return {
    ...base,
    online: onlineValue,
    relativeDrop,
    dropped,
    reason: `online ${gate.metric} ${onlineValue.toFixed(4)} vs offline ${offline.toFixed(4)}: ${relativeDrop > 0 ? `${pct(relativeDrop)} lower` : 'not lower'} (limit ${pct(gate.maxRelativeDrop)})`,
  };
}

function hasValue(values: ColumnValues | undefined): boolean {
  if (!values) return false;
  for (const v of values) if (v !== null && (typeof v === 'string' || Number.isFinite(v))) return true;
  return false;
}
