import type { ModelManifest, RunInfo } from '@skiff/core';

/** One row of a side-by-side comparison; `delta` = b − a for two numbers. */
export interface SideBySideRow {
  key: string;
  a: string | number | null;
  b: string | number | null;
  same: boolean;
  delta?: number;
}

const cell = (v: unknown): string | number | null =>
  v === undefined || v === null ? null : typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v);

function rows(a: Record<string, unknown>, b: Record<string, unknown>, keys?: readonly string[]): SideBySideRow[] {
  const all = keys ?? [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return all.map((key) => {
    const va = cell(a[key]);
    const vb = cell(b[key]);
    const row: SideBySideRow = { key, a: va, b: vb, same: va === vb };
    if (typeof va === 'number' && typeof vb === 'number') row.delta = vb - va;
    return row;
  });
}

/** Flattens `{ pop: { 'hr@20': 0.1 } }` to `{ 'pop.hr@20': 0.1 }`. */
const flat = (m: Record<string, Record<string, number>>) =>
  Object.fromEntries(Object.entries(m).flatMap(([b, ms]) => Object.entries(ms).map(([k, v]) => [`${b}.${k}`, v])));

/** Params, metrics, baselines, lineage and files of two versions side by side (`skiff registry diff`). */
export function diffManifests(a: ModelManifest, b: ModelManifest) {
  const lineageOf = (m: ModelManifest) => ({
    name: m.name,
    createdAt: m.createdAt,
    ...m.lineage,
    loadIds: m.lineage.loadIds.join(','),
  });
  const filesOf = (m: ModelManifest) =>
    Object.fromEntries(Object.entries(m.files).map(([f, h]) => [f, h.slice(0, 12)]));
  return {
    a: a.version,
    b: b.version,
    params: rows(a.params, b.params),
    metrics: rows(a.metrics, b.metrics),
    baselines: rows(flat(a.baselineMetrics), flat(b.baselineMetrics)),
    lineage: rows(lineageOf(a), lineageOf(b), [
      'name',
      'createdAt',
      'snapshotId',
      'loadIds',
      'workflowId',
      'runId',
      'codeVersion',
      'backend',
    ]),
    files: rows(filesOf(a), filesOf(b)),
  };
}

/** Params, latest metrics and run facts of two runs side by side (`skiff runs compare`). */
export function compareRuns(a: RunInfo, b: RunInfo) {
  const facts = (r: RunInfo) => ({
    experiment: r.experiment,
    name: r.name,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    seconds: r.endedAt ? (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 : null,
    error: r.error ?? null,
  });
  return {
    a: a.runId,
    b: b.runId,
    run: rows(facts(a), facts(b), ['experiment', 'name', 'status', 'startedAt', 'endedAt', 'seconds', 'error']),
    params: rows(a.params, b.params),
    metrics: rows(a.metrics, b.metrics),
  };
}
