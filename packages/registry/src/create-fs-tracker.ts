import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  assertExperiment,
  assertMetrics,
  assertRunId,
  paramToString,
  SkiffError,
  type ExperimentTracker,
  type MetricPoint,
  type Metrics,
  type RunInfo,
} from '@skiff/core';
import { withFileLock, writeFileAtomic } from '@skiff/node-io';

export interface CreateFsTrackerOptions {
  /** Folder holding one `<runId>/` folder per run (`data/runs`). */
  root: string;
  /** Experiment of runs started without one. */
  defaultExperiment?: string;
  now?: () => Date;
}

type StoredRun = Omit<RunInfo, 'metrics'>;

/** Latest value of each metric: highest step, then the later point. */
export function latestMetrics(points: readonly MetricPoint[]): Metrics {
  const best = new Map<string, MetricPoint>();
  for (const p of points) {
    const b = best.get(p.key);
    if (!b || p.step >= b.step) best.set(p.key, p);
  }
  return Object.fromEntries([...best].map(([k, p]) => [k, p.value]));
}

/**
 * File experiment tracker (port: ExperimentTracker): `<root>/<runId>/run.json` (status, params,
 * tags; replaced atomically under a per-run lock) and `<root>/<runId>/metrics.ndjson` (one
 * appended line per metric point).
 */
export function createFsTracker(options: CreateFsTrackerOptions): ExperimentTracker {
  const { root, defaultExperiment = 'skiff', now = () => new Date() } = options;
  const runDir = (runId: string) => path.join(root, runId);

  async function readStored(runId: string): Promise<StoredRun> {
    assertRunId(runId);
    try {
      return JSON.parse(await readFile(path.join(runDir(runId), 'run.json'), 'utf8')) as StoredRun;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SkiffError('BAD_INPUT', `no run with id ${runId}`);
      throw e;
    }
  }

  async function readPoints(runId: string): Promise<MetricPoint[]> {
    const text = await readFile(path.join(runDir(runId), 'metrics.ndjson'), 'utf8').catch(() => '');
    const points: MetricPoint[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        points.push(JSON.parse(line) as MetricPoint);
      } catch {
        // torn last line after a crash
      }
    }
    return points;
  }

  async function withRun(runId: string, fn: (run: StoredRun) => Promise<StoredRun | void>): Promise<StoredRun> {
    assertRunId(runId);
    return withFileLock(path.join(runDir(runId), 'run.lock'), async () => {
      const run = await readStored(runId);
      const next = await fn(run);
      if (next) await writeFileAtomic(path.join(runDir(runId), 'run.json'), JSON.stringify(next, null, 2));
      return next ?? run;
    });
  }

  function assertRunning(run: StoredRun): void {
    if (run.status !== 'running') throw new SkiffError('BAD_INPUT', `run ${run.runId} has ended (${run.status})`);
  }

  function mergeParams(run: StoredRun, params: Record<string, unknown>): Record<string, string> {
    const merged = { ...run.params };
    for (const [k, v] of Object.entries(params)) {
      const s = paramToString(v);
      if (k in merged && merged[k] !== s)
        throw new SkiffError(
          'BAD_INPUT',
          `param ${k} of run ${run.runId} is already ${merged[k]}; params never change`,
        );
      merged[k] = s;
    }
    return merged;
  }

  const withMetrics = async (run: StoredRun): Promise<RunInfo> => ({
    ...run,
    metrics: latestMetrics(await readPoints(run.runId)),
  });

  return {
    async startRun(input = {}) {
      const experiment = input.experiment ?? defaultExperiment;
      assertExperiment(experiment);
      const runId = randomUUID().replace(/-/g, '');
      const startedAt = now().toISOString();
      const stored: StoredRun = {
        runId,
        experiment,
        name: input.name ?? `run-${startedAt.replace(/[-:]/g, '').slice(0, 15)}`,
        status: 'running',
        startedAt,
        endedAt: null,
        params: {},
        tags: { ...input.tags },
      };
      stored.params = mergeParams(stored, input.params ?? {});
      await mkdir(runDir(runId), { recursive: true });
      await writeFileAtomic(path.join(runDir(runId), 'run.json'), JSON.stringify(stored, null, 2));
      return { ...stored, metrics: {} };
    },

    async logParams(runId, params) {
      await withRun(runId, async (run) => {
        assertRunning(run);
        return { ...run, params: mergeParams(run, params) };
      });
    },

    async logMetrics(runId, metrics, step = 0) {
      assertMetrics(metrics, step);
      assertRunning(await readStored(runId));
      const at = now().toISOString();
      const lines = Object.entries(metrics).map(
        ([key, value]) => JSON.stringify({ key, value, step, at } satisfies MetricPoint) + '\n',
      );
      if (lines.length) await appendFile(path.join(runDir(runId), 'metrics.ndjson'), lines.join(''));
    },

    async endRun(runId, outcome) {
      if (!['finished', 'failed', 'killed'].includes(outcome.status))
        throw new SkiffError('BAD_INPUT', `a run ends as finished, failed or killed, not ${outcome.status}`);
      const run = await withRun(runId, async (r) => {
        assertRunning(r);
        return {
          ...r,
          status: outcome.status,
          endedAt: now().toISOString(),
          ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        };
      });
      return withMetrics(run);
    },

    async listRuns(filter = {}) {
      const ids = (await readdir(root).catch(() => [] as string[])).filter((d) => /^[A-Za-z0-9_-]{1,64}$/.test(d));
      const runs: StoredRun[] = [];
      for (const id of ids) {
        const r = await readStored(id).catch(() => null);
        if (!r) continue;
        if (filter.experiment !== undefined && r.experiment !== filter.experiment) continue;
        if (filter.status !== undefined && r.status !== filter.status) continue;
        if (filter.tags && !Object.entries(filter.tags).every(([k, v]) => r.tags[k] === v)) continue;
        runs.push(r);
      }
      runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
      return Promise.all(runs.slice(0, filter.limit ?? runs.length).map(withMetrics));
    },

    async getRun(runId) {
      const run = await readStored(runId);
      // By step, then in the order logged (sort is stable).
      const history = (await readPoints(runId)).sort((a, b) => a.step - b.step);
      return { ...run, metrics: latestMetrics(history), history };
    },
  };
}
