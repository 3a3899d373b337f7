import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SkiffError, type Logger, type ModelRegistry, type MonitorRunResult } from '@skiff/core';
import { computeDrift, type RawValue } from './drift.js';
import { writeReport } from './report.js';
import { currentFrame, MONITORED_COLUMNS, popularityBuckets, referenceFrame, type Frame, type ServingRow } from './features.js';

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
}

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

async function readCsvFrame(file: string): Promise<{ frame: Frame; columns: Array<{ name: string; type: 'num' | 'cat' }> }> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines.shift() ?? '').split(',');
  const cols: string[][] = header.map(() => []);
  for (const l of lines) l.split(',').forEach((v, i) => cols[i]?.push(v));
  const frame: Frame = {};
  const columns: Array<{ name: string; type: 'num' | 'cat' }> = [];
  header.forEach((h, i) => {
    const vals = cols[i]!;
    const numeric = vals.every((v) => v === '' || Number.isFinite(Number(v)));
    frame[h] = vals.map((v): RawValue => (v === '' ? null : numeric ? Number(v) : v));
    columns.push({ name: h, type: numeric ? 'num' : 'cat' });
  });
  return { frame, columns };
}

/**
 * One monitoring run (DESIGN.md §7): reference = the served model's training snapshot,
 * current = the serving log; Evidently's default tests per column; snapshot + HTML + JSON.
 */
export async function runMonitor(options: RunMonitorOptions): Promise<MonitorRunResult> {
  const { registry, servingLogDir, reportsDir, logger, now = new Date(), alias = 'production' } = options;
  let reference: Frame;
  let current: Frame;
  let columns: Array<{ name: string; type: 'num' | 'cat' }>;
  let modelVersion: string | null = null;

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
    const train = await readFile(trainFile, 'utf8').then(
      (t) => (JSON.parse(t) as { sessions: string[][] }).sessions,
      () => {
        throw new SkiffError('BAD_INPUT', `training snapshot of ${manifest.version} not found at ${trainFile}`);
      },
    );
    const bucket = popularityBuckets(train);
    const since = options.windowHours ? new Date(now.getTime() - options.windowHours * 3_600_000) : null;
    const rows = await readServingLogs(servingLogDir, since, logger);
    if (rows.length === 0) throw new SkiffError('BAD_INPUT', `no serving records in ${servingLogDir}${since ? ` since ${since.toISOString()}` : ''}`);
    reference = referenceFrame(train, bucket);
    current = currentFrame(rows, bucket);
    columns = MONITORED_COLUMNS;
  }

  const result = computeDrift({ reference, current, columns });
  const outDir = path.join(reportsDir, now.toISOString().replace(/[:.]/g, '-'));
  const paths = await writeReport({ result, data: { reference, current }, outDir, title: `skiff drift report${modelVersion ? ` — model ${modelVersion}` : ''}` });
  const referenceRows = Object.values(reference)[0]?.length ?? 0;
  const currentRows = Object.values(current)[0]?.length ?? 0;
  logger.info('monitoring run finished', { datasetDrift: result.datasetDrift, share: result.share, modelVersion, report: paths.htmlPath });
  return {
    datasetDrift: result.datasetDrift,
    driftShare: result.driftShare,
    share: result.share,
    columns: result.columns.map((c) => ({ column: c.column, method: c.method, score: c.score, threshold: c.threshold, drifted: c.drifted })),
    ...paths,
    referenceRows,
    currentRows,
    modelVersion,
  };
}
