import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  SELECTION_EXPERIMENT,
  silentLogger,
  type ExperimentTracker,
  type ModelManifest,
  type ModelRegistry,
} from '@skiff/core';
import { nextEventItem, readOnlineEvents, type ServingRow } from '@skiff/monitoring';
import { ndjsonFiles, ndjsonLines as lines } from '@skiff/node-io';

/** Where the dashboard reads from; every number on the page comes from these files. */
export interface DashboardSources {
  registry: ModelRegistry;
  /** Training runs, registered or not (optional). */
  tracker?: ExperimentTracker | undefined;
  reportsDir: string;
  servingLogDir: string;
  /** Follow-up events (raw contract) posted to /v1/events. */
  eventsDir: string;
  /** Raw logs, scanned once for item metadata (category, price). */
  rawDir: string;
  /** Temporal Web UI base URL, for links to runs. */
  temporalUiUrl?: string | undefined;
  temporalNamespace?: string;
}

function gateOf(
  m: ModelManifest,
): { promote: string | null; contender: string; metric: string; reason: string } | null {
  const g = m.params['gate'] as
    { promote?: unknown; contender?: unknown; metric?: unknown; reason?: unknown } | undefined;
  if (!g || typeof g !== 'object' || typeof g.reason !== 'string') return null;
  return {
    promote: typeof g.promote === 'string' ? g.promote : null,
    contender: String(g.contender ?? 'candidate'),
    metric: String(g.metric ?? ''),
    reason: g.reason,
  };
}

export async function registryView(src: DashboardSources) {
  const [versions, aliases] = await Promise.all([src.registry.list(), src.registry.aliases()]);
  const withHistory = src.registry as ModelRegistry & { history?: (alias?: string) => Promise<unknown[]> };
  const history = typeof withHistory.history === 'function' ? await withHistory.history().catch(() => []) : [];
  const ui = src.temporalUiUrl
    ? `${src.temporalUiUrl}/namespaces/${src.temporalNamespace ?? 'default'}/workflows/`
    : null;
  return {
    aliases,
    history,
    versions: versions
      .slice()
      .reverse()
      .map((m: ModelManifest) => ({
        version: m.version,
        name: m.name,
        createdAt: m.createdAt,
        metrics: m.metrics,
        baselines: m.baselineMetrics,
        losses: Array.isArray(m.params['losses']) ? (m.params['losses'] as number[]) : [],
        validation: Array.isArray(m.params['validation'])
          ? (m.params['validation'] as Array<{ epoch: number; 'hr@20': number }>)
          : [],
        lineage: m.lineage,
        // The promotion gate's decision for this version (candidate, baselines, champion, intervals).
        gate: gateOf(m),
        workflowUrl: ui && m.lineage.workflowId ? ui + encodeURIComponent(m.lineage.workflowId) : null,
      })),
  };
}

/** The latest monitoring runs: each report folder holds drift.json (the verdict) and report.html. */
export async function monitoringView(src: DashboardSources, limit = 10) {
  const dirs = (await readdir(src.reportsDir, { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory() && /^\d{4}-/.test(d.name))
    .map((d) => d.name)
    .sort()
    .reverse()
    .slice(0, limit);
  const runs = [];
  for (const d of dirs) {
    const drift = await readFile(path.join(src.reportsDir, d, 'drift.json'), 'utf8').then(
      (t) => JSON.parse(t) as Record<string, unknown>,
      () => null,
    );
    if (drift) runs.push({ id: d, drift, reportUrl: `/dashboard/reports/${encodeURIComponent(d)}/report.html` });
  }
  return { runs };
}

/**
 * Online quality per hour: a served list is a hit when the session's next event (posted to
 * /v1/events after the request) is among the recommended items.
 */
export async function onlineView(src: DashboardSources) {
  // The monitor's own attribution (request id, else the next event strictly after the request),
  // so that the dashboard and the monitoring report agree.
  const { events } = await readOnlineEvents(src.eventsDir, silentLogger);
  const hours = new Map<string, { requests: number; judged: number; hits: number; latencyMs: number }>();
  for (const f of await ndjsonFiles(src.servingLogDir))
    for await (const l of lines(f)) {
      try {
        const r = JSON.parse(l) as ServingRow & { ts: string; latencyMs: number };
        const hour = r.ts.slice(0, 13) + ':00Z';
        const h = hours.get(hour) ?? { requests: 0, judged: 0, hits: 0, latencyMs: 0 };
        h.requests++;
        h.latencyMs += r.latencyMs;
        const next = nextEventItem(r, events);
        if (next !== null) {
          h.judged++;
          if (r.recommended.some((x) => x.itemId === next)) h.hits++;
        }
        hours.set(hour, h);
      } catch {
        /* skipped */
      }
    }
  return {
    hours: [...hours.entries()].sort().map(([hour, h]) => ({
      hour,
      requests: h.requests,
      judged: h.judged,
      hr: h.judged ? h.hits / h.judged : null,
      meanLatencyMs: h.latencyMs / h.requests,
    })),
  };
}

let itemCache: { key: string; items: Map<string, { category: string | null; price: number | null }> } | null = null;

/** Item metadata from the raw logs (category, price), scanned once per change of the raw folder. */
export async function itemMetadata(src: DashboardSources, maxLines = 2_000_000) {
  const files = await ndjsonFiles(src.rawDir);
  const key = (await Promise.all(files.map(async (f) => `${f}:${(await stat(f)).size}`))).join('|');
  if (itemCache?.key === key) return itemCache.items;
  const items = new Map<string, { category: string | null; price: number | null }>();
  let n = 0;
  for (const f of files)
    for await (const l of lines(f)) {
      if (++n > maxLines) break;
      try {
        const e = JSON.parse(l) as { item_id?: string | null; category?: string | null; price?: number | null };
        if (e.item_id && !items.has(e.item_id))
          items.set(e.item_id, { category: e.category ?? null, price: e.price ?? null });
      } catch {
        /* skipped */
      }
    }
  itemCache = { key, items };
  return items;
}

/** Recent training runs from the experiment tracker (failed and cancelled ones too), with Temporal links. */
export async function runsView(src: DashboardSources, limit = 15) {
  if (!src.tracker) return { runs: [] };
  const ui = src.temporalUiUrl
    ? `${src.temporalUiUrl}/namespaces/${src.temporalNamespace ?? 'default'}/workflows/`
    : null;
  const runs = await src.tracker.listRuns({ limit });
  return {
    runs: runs.map((r) => ({
      runId: r.runId,
      name: r.name,
      experiment: r.experiment,
      status: r.status,
      startedAt: r.startedAt,
      seconds: r.endedAt ? (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 : null,
      loss: r.metrics['loss'] ?? null,
      valHr20: r.metrics['val_hr@20'] ?? null,
      error: r.error ?? null,
      workflowUrl: ui && r.tags['workflowId'] ? ui + encodeURIComponent(r.tags['workflowId']) : null,
    })),
  };
}

/** Attempts per candidate (and of the refit) that the selection view reads: the newest ones. */
const MAX_ATTEMPTS_SHOWN = 5;

/**
 * The latest model selection from the tracker: its parent run, and every candidate run under it
 * (the latest attempt of each) with its epoch and validation scores so far, and the refit.
 * `attempts` counts the attempts read, at most MAX_ATTEMPTS_SHOWN.
 */
export async function selectionView(src: DashboardSources) {
  if (!src.tracker) return { selection: null };
  const [parent] = await src.tracker.listRuns({ experiment: SELECTION_EXPERIMENT, limit: 1 });
  if (!parent) return { selection: null };
  // Only this selection's runs, and a bounded number of them: per candidate and for the refit its
  // newest attempts (a lost worker's attempt is a run of its own). One query each, so that a
  // candidate retried many times cannot push another candidate or the refit out of a shared limit.
  const order = (parent.params['candidates'] ?? '').split(',').filter(Boolean);
  const tracker = src.tracker;
  const byName = await Promise.all([
    ...order.map((candidate) =>
      tracker.listRuns({ tags: { parentRunId: parent.runId, candidate }, limit: MAX_ATTEMPTS_SHOWN }),
    ),
    tracker.listRuns({ tags: { parentRunId: parent.runId, role: 'refit' }, limit: MAX_ATTEMPTS_SHOWN }),
  ]);
  const children = byName.flat();
  const latest = new Map<string, (typeof children)[number]>();
  // Newest first: the first run seen of a candidate is its latest attempt.
  for (const r of children) {
    const key = r.tags['role'] === 'refit' ? '(refit)' : (r.tags['candidate'] ?? r.name);
    if (!latest.has(key)) latest.set(key, r);
  }
  const attempts = (key: string) =>
    children.filter((r) => (r.tags['role'] === 'refit' ? '(refit)' : (r.tags['candidate'] ?? r.name)) === key).length;
  return {
    selection: {
      runId: parent.runId,
      workflowId: parent.tags['workflowId'] ?? parent.name,
      status: parent.status,
      startedAt: parent.startedAt,
      chosen: parent.params['chosen'] ?? null,
      candidates: [...latest.entries()]
        .sort(
          ([a], [b]) =>
            (order.indexOf(a) === -1 ? 1e9 : order.indexOf(a)) - (order.indexOf(b) === -1 ? 1e9 : order.indexOf(b)),
        )
        .map(([name, r]) => ({
          name,
          role: r.tags['role'] ?? null,
          model: r.experiment,
          status: r.status,
          attempts: attempts(name),
          epoch: r.metrics['epoch'] ?? null,
          epochs: r.params['epochs'] !== undefined ? Number(r.params['epochs']) : null,
          valHr20: r.metrics['val_hr@20'] ?? null,
          valMrr20: r.metrics['val_mrr@20'] ?? null,
          seconds: r.endedAt ? (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 : null,
        })),
    },
  };
}
