import { join } from 'node:path';
import type { DriftResult } from './drift.js';
import { renderHtmlReport } from './html.js';
import { writeFileAtomic } from './io.js';
import { buildEvidentlySnapshot } from './snapshot.js';
import type { DriftData, SnapshotOptions } from './snapshot.js';

export interface WriteReportArgs {
  result: DriftResult;
  data: DriftData;
  outDir: string;
  title: string;
  snapshot?: SnapshotOptions;
}

/** Writes snapshot.json (Evidently SnapshotModel), report.html and drift.json (the DriftResult), atomically. */
export async function writeReport(args: WriteReportArgs): Promise<{ snapshotPath: string; htmlPath: string; jsonPath: string }> {
  const snapshotPath = join(args.outDir, 'snapshot.json');
  const htmlPath = join(args.outDir, 'report.html');
  const jsonPath = join(args.outDir, 'drift.json');
  const snapshot = buildEvidentlySnapshot(args.result, args.data, args.snapshot);
  await writeFileAtomic(snapshotPath, `${JSON.stringify(snapshot, null, 1)}\n`);
  await writeFileAtomic(htmlPath, renderHtmlReport(args.result, args.data, { title: args.title }));
  await writeFileAtomic(jsonPath, `${JSON.stringify(args.result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`);
  return { snapshotPath, htmlPath, jsonPath };
}
