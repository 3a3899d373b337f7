import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SkiffError, type Logger, type ModelRegistry, type MonitorRunResult, type Recommender } from '@skiff/core';
import { computeDrift, type ColumnValues } from './drift.js';
import { readCsvFrame } from './csv.js';
import { writeReport } from './report.js';
import {
  currentFrame,
  MONITORED_COLUMNS,
  popularityBuckets,
  referenceFrame,
  referenceHours,
  referenceRecommendationFrame,
  referenceTimeOf,
  samplePrefixes,
  type ServingRow,
  type TrainSnapshotFile,
} from './features.js';
import { onlineQuality, predictionDescriptors, readOnlineEvents, type OnlineQuality, type PredictionDescriptors } from './online.js';
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
}

/**
 * What `runMonitor` returns: core's `MonitorRunResult` plus the fields added for issue #8
 * (optional here only so that this type stays assignable in both directions while core catches up).
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
}

const MAX_RECOMMENDER_SAMPLE = 5000;

/** Reads serving records, skipping lines that do not parse (counted and logged, never fatal). */
export async function readServingLogs(dir: string, since: Date | null, logger: Logger): Promise<ServingRow[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ndjson')).sort();
  const rows: ServingRow[] = [];
  let bad = 0;
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(path.join(dir, f), 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as ServingRow & { ts: string };
        if (!Array.isArray(r.items) || !Array.isArray(r.recommended)) throw new Error('shape');
        if (since && Date.parse(r.ts) < since.getTime()) continue;
        rows.push(r);
      } catch {
        bad++;
      }
    }
  }
  if (bad) logger.warn('serving log lines skipped', { bad });
  return rows;
}

/**
 * One monitoring run (DESIGN.md §7): reference = the served model's training snapshot,
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
  const skippedColumns: Array<{ column: string; reason: string }> = [];

  if (options.referenceCsv || options.currentCsv) {
    if (!options.referenceCsv || !options.currentCsv) throw new SkiffError('BAD_INPUT', '--reference and --current must be given together');
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
    const rows = await readServingLogs(servingLogDir, since, logger);
    if (rows.length === 0) throw new SkiffError('BAD_INPUT', `no serving records in ${servingLogDir}${since ? ` since ${since.toISOString()}` : ''}`);
    reference = referenceFrame(train, bucket);
    const cur = currentFrame(rows, bucket);
    current = cur;
    columns = [...MONITORED_COLUMNS];

    // hour_of_day: needs request times on both sides.
    const timeOf = referenceTimeOf(trainSnap);
    if (!timeOf) skippedColumns.push({ column: 'hour_of_day', reason: 'train.json carries no timestamps/startedAt' });
    else {
      reference.hour_of_day = referenceHours(trainSnap, timeOf);
      columns.push({ name: 'hour_of_day', type: 'cat' });
    }
    // rec_popularity_bucket / top_score: the reference side needs the served model.
    if (!options.recommender) {
      for (const c of ['rec_popularity_bucket', 'top_score']) skippedColumns.push({ column: c, reason: 'no recommender given for the reference side' });
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

    const eventsDir = options.eventsDir ?? path.join(servingLogDir, '..', 'online');
    const ev = await readOnlineEvents(eventsDir, logger);
    online = ev.files > 0 ? onlineQuality(rows, ev.events) : null;
    prediction = predictionDescriptors(rows, options.recommender?.vocabulary.length ?? null);
  }

  const result = computeDrift({ reference, current, columns });
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
    html: options.referenceCsv ? { skippedColumns } : { online, prediction, skippedColumns },
    workspace: { path: workspacePath, projectName: options.projectName ?? 'skiff', now },
  });
  const referenceRows = Object.values(reference)[0]?.length ?? 0;
  const currentRows = Object.values(current)[0]?.length ?? 0;
  logger.info('monitoring run finished', { datasetDrift: result.datasetDrift, share: result.share, modelVersion, report: paths.htmlPath, online, skipped: skippedColumns.map((c) => c.column) });
  return {
    datasetDrift: result.datasetDrift,
    driftShare: result.driftShare,
    share: result.share,
    columns: result.columns.map((c) => ({ column: c.column, method: c.method, score: c.score, threshold: c.threshold, drifted: c.drifted })),
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
  };
}

function hasValue(values: ColumnValues | undefined): boolean {
  if (!values) return false;
  for (const v of values) if (v !== null && (typeof v === 'string' || Number.isFinite(v))) return true;
  return false;
}
