/**
 * Evidently 0.7 local workspace layout (what `evidently ui --workspace DIR` and
 * `evidently.ui.workspace.Workspace(DIR)` read):
 *
 *   <workspace>/<project-uuid>/metadata.json
 *   <workspace>/<project-uuid>/dashboard.json          (optional; written once if absent)
 *   <workspace>/<project-uuid>/snapshots/<snapshot-uuid>.json
 *
 * UUIDs are lowercase (the UI's file watcher only matches lowercase). The project id is stable
 * across runs: an existing project with the same name is reused, otherwise the id is derived
 * from the name, so concurrent first runs agree on it too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@skiff/node-io';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface WorkspaceProject {
  id: string;
  name: string;
  description: string | null;
  org_id: string | null;
  version: '2';
}

export interface WorkspaceSnapshotRef {
  workspacePath: string;
  projectId: string;
  snapshotId: string;
  snapshotPath: string;
}

function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Name-based UUID (RFC 4122 version 5 layout over sha1 of a fixed namespace string + name). */
export function nameUuid(name: string): string {
  const b = createHash('sha1').update(`skiff-monitoring-project:${name}`, 'utf8').digest().subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return formatUuid(b);
}

/** Time-ordered UUIDv7 (what Evidently's `new_id()` mints), lowercase. */
export function uuidv7(now: Date = new Date()): string {
  const b = randomBytes(16);
  const ms = BigInt(now.getTime());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return formatUuid(b);
}

export function isWorkspaceUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Finds the project named `name` in the workspace, or creates it (metadata.json + a default dashboard). */
export async function ensureWorkspaceProject(
  workspacePath: string,
  name = 'skiff',
  dashboardColumns: readonly string[] = [],
): Promise<WorkspaceProject> {
  const entries = await readdir(workspacePath).catch(() => [] as string[]);
  for (const e of entries.filter(isWorkspaceUuid).sort()) {
    try {
      const meta = JSON.parse(
        await readFile(path.join(workspacePath, e, 'metadata.json'), 'utf8'),
      ) as Partial<WorkspaceProject>;
      if (meta.name === name)
        return { id: e, name, description: meta.description ?? null, org_id: meta.org_id ?? null, version: '2' };
    } catch {
      // not a project folder we can read; Evidently would skip it too
    }
  }
  const project: WorkspaceProject = { id: nameUuid(name), name, description: null, org_id: null, version: '2' };
  const dir = path.join(workspacePath, project.id);
  await writeFileAtomic(path.join(dir, 'metadata.json'), `${JSON.stringify(project, null, 2)}\n`);
  const dash = path.join(dir, 'dashboard.json');
  const hasDashboard = await readFile(dash, 'utf8').then(
    () => true,
    () => false,
  );
  if (!hasDashboard)
    await writeFileAtomic(dash, `${JSON.stringify(defaultDashboard(project.id, dashboardColumns), null, 1)}\n`);
  return project;
}

/** A dashboard (Evidently `DashboardModel`) with the drift share over time and one panel of per-column scores. */
export function defaultDashboard(projectId: string, columns: readonly string[]): Record<string, unknown> {
  const id = (k: string): string => nameUuid(`${projectId}/${k}`);
  const panels: Array<Record<string, unknown>> = [
    {
      id: id('panel:share'),
      title: 'Share of drifted columns',
      subtitle: null,
      size: 'full',
      values: [
        {
          legend: 'share',
          tags: [],
          metadata: {},
          metric: 'evidently:metric_v2:DriftedColumnsCount',
          metric_labels: { value_type: 'share' },
          view_params: {},
        },
      ],
      plot_params: { plot_type: 'line' },
    },
  ];
  if (columns.length) {
    panels.push({
      id: id('panel:columns'),
      title: 'Drift score per column',
      subtitle: null,
      size: 'full',
      values: columns.map((c) => ({
        legend: c,
        tags: [],
        metadata: {},
        metric: 'evidently:metric_v2:ValueDrift',
        metric_labels: { column: c },
        view_params: {},
      })),
      plot_params: { plot_type: 'line' },
    });
  }
  return { tabs: [{ id: id('tab:drift'), title: 'Drift', panels: panels.map((p) => p.id) }], panels };
}

/** Writes one snapshot (a `SnapshotModel` object) into the workspace project; returns where it went. */
export async function addWorkspaceSnapshot(
  workspacePath: string,
  snapshot: Record<string, unknown>,
  options: { projectName?: string; now?: Date; dashboardColumns?: readonly string[] } = {},
): Promise<WorkspaceSnapshotRef> {
  const project = await ensureWorkspaceProject(
    workspacePath,
    options.projectName ?? 'skiff',
    options.dashboardColumns ?? [],
  );
  const snapshotId = uuidv7(options.now ?? new Date());
  const snapshotPath = path.join(workspacePath, project.id, 'snapshots', `${snapshotId}.json`);
  // The temp file of the atomic write starts with '.', so Evidently's UUID filter never picks it up.
  await writeFileAtomic(snapshotPath, `${JSON.stringify(snapshot)}\n`);
  return { workspacePath, projectId: project.id, snapshotId, snapshotPath };
}
