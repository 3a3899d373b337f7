import { join } from 'node:path';
import type { DriftResult } from './drift.js';
import { renderHtmlReport } from './html.js';
import type { HtmlReportOptions } from './html.js';
import { writeFileAtomic } from '@skiff/node-io';
import { buildEvidentlySnapshot } from './snapshot.js';
import type { DriftData, SnapshotOptions } from './snapshot.js';
import { addWorkspaceSnapshot } from './workspace.js';
import type { WorkspaceSnapshotRef } from './workspace.js';

export interface WriteReportArgs {
  result: DriftResult;
  data: DriftData;
  outDir: string;
  title: string;
  snapshot?: SnapshotOptions;
  /** Extra HTML sections (online quality, prediction descriptors, skipped columns). */
  html?: Omit<HtmlReportOptions, 'title'>;
  /** Also add the snapshot to an Evidently local workspace (`evidently ui --workspace <path>`). */
  workspace?: { path: string; projectName?: string; now?: Date };
}

export interface WriteReportResult {
  snapshotPath: string;
  htmlPath: string;
  jsonPath: string;
  /** Set when `workspace` was given. */
  workspace?: WorkspaceSnapshotRef;
}

/** Writes snapshot.json (Evidently SnapshotModel), report.html and drift.json (the DriftResult), atomically. */
export async function writeReport(args: WriteReportArgs): Promise<WriteReportResult> {
  const snapshotPath = join(args.outDir, 'snapshot.json');
  const htmlPath = join(args.outDir, 'report.html');
  const jsonPath = join(args.outDir, 'drift.json');
  const snapshot = buildEvidentlySnapshot(args.result, args.data, args.snapshot);
  await writeFileAtomic(snapshotPath, `${JSON.stringify(snapshot, null, 1)}\n`);
  await writeFileAtomic(htmlPath, renderHtmlReport(args.result, args.data, { ...args.html, title: args.title }));
  await writeFileAtomic(
    jsonPath,
    `${JSON.stringify(args.result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
  );
  if (!args.workspace) return { snapshotPath, htmlPath, jsonPath };
  const workspace = await addWorkspaceSnapshot(args.workspace.path, snapshot, {
    ...(args.workspace.projectName ? { projectName: args.workspace.projectName } : {}),
    ...(args.workspace.now ? { now: args.workspace.now } : {}),
    dashboardColumns: args.result.columns.map((c) => c.column),
  });
  return { snapshotPath, htmlPath, jsonPath, workspace };
}
