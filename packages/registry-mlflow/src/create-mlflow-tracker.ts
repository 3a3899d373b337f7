import {
  assertExperiment,
  assertMetrics,
  assertRunId,
  paramToString,
  SkiffError,
  type ExperimentTracker,
  type MetricPoint,
  type RunInfo,
  type RunStatus,
} from '@skiff/core';
import {
  createMlflowClient,
  decodeKey,
  encodeKey,
  ensureExperiment,
  mlflowErrorCode,
  type MlflowClientOptions,
} from './client.js';

export interface CreateMlflowTrackerOptions extends MlflowClientOptions {
  /** Experiment of runs started without one (default `skiff`). */
  defaultExperiment?: string;
  now?: () => Date;
}

interface MlflowRun {
  info: {
    run_id: string;
    experiment_id: string;
    run_name?: string;
    status: string;
    start_time?: number;
    end_time?: number;
  };
  data?: {
    metrics?: Array<{ key: string; value: number | string; timestamp: number; step?: number }>;
    params?: Array<{ key: string; value: string }>;
    tags?: Array<{ key: string; value: string }>;
  };
}

const STATUS_TO_MLFLOW: Record<Exclude<RunStatus, 'running'>, string> = {
  finished: 'FINISHED',
  failed: 'FAILED',
  killed: 'KILLED',
};
const STATUS_FROM_MLFLOW: Record<string, RunStatus> = {
  RUNNING: 'running',
  SCHEDULED: 'running',
  FINISHED: 'finished',
  FAILED: 'failed',
  KILLED: 'killed',
};
const ERROR_TAG = 'skiff.error';

/**
 * A value as a string literal of MLflow's search filter, which has no escapes: single quotes, or
 * double quotes around a value with a single quote; null when neither fits (or there is a backslash).
 */
const literal = (v: string): string | null =>
  v.includes('\\') ? null : !v.includes("'") ? `'${v}'` : !v.includes('"') ? `"${v}"` : null;

/**
 * ExperimentTracker on MLflow runs (REST API 2.0): experiments by name (created on first use),
 * params (immutable, as in MLflow), stepped metrics via log-batch, the outcome as the run status
 * (`skiff.error` tag for the error). Metric/param/tag keys are encoded reversibly (`hr@20` →
 * `hr:4020`, see encodeKey). `listRuns()` without an experiment skips the registry's artifact
 * experiments (tagged `skiff.kind=registry`).
 */
export function createMlflowTracker(options: CreateMlflowTrackerOptions): ExperimentTracker {
  const client = createMlflowClient(options);
  const defaultExperiment = options.defaultExperiment ?? 'skiff';
  const now = options.now ?? (() => new Date());
  const experimentNames = new Map<string, string>();

  async function experimentName(id: string): Promise<string> {
    const known = experimentNames.get(id);
    if (known) return known;
    const { experiment } = await client.get<{ experiment: { name: string } }>('experiments/get', { experiment_id: id });
    experimentNames.set(id, experiment.name);
    return experiment.name;
  }

  async function experimentIdIfExists(name: string): Promise<string | null> {
    try {
      const { experiment } = await client.get<{ experiment: { experiment_id: string } }>('experiments/get-by-name', {
        experiment_name: name,
      });
      return experiment.experiment_id;
    } catch (e) {
      if (mlflowErrorCode(e) === 'RESOURCE_DOES_NOT_EXIST') return null;
      throw e;
    }
  }

  async function fetchRun(runId: string): Promise<MlflowRun> {
    assertRunId(runId);
    try {
      return (await client.get<{ run: MlflowRun }>('runs/get', { run_id: runId })).run;
    } catch (e) {
      const code = mlflowErrorCode(e);
      if (code === 'RESOURCE_DOES_NOT_EXIST' || code === 'INVALID_PARAMETER_VALUE')
        throw new SkiffError('BAD_INPUT', `no run with id ${runId}`);
      throw e;
    }
  }

  async function toInfo(run: MlflowRun): Promise<RunInfo> {
    const tags: Record<string, string> = {};
    let error: string | undefined;
    for (const t of run.data?.tags ?? []) {
      if (t.key === ERROR_TAG) error = t.value;
      else if (!t.key.startsWith('mlflow.')) tags[decodeKey(t.key)] = t.value;
    }
    const info: RunInfo = {
      runId: run.info.run_id,
      experiment: await experimentName(run.info.experiment_id),
      name: run.info.run_name ?? '',
      status: STATUS_FROM_MLFLOW[run.info.status] ?? 'running',
      startedAt: new Date(run.info.start_time ?? 0).toISOString(),
      endedAt: run.info.end_time ? new Date(run.info.end_time).toISOString() : null,
      params: Object.fromEntries((run.data?.params ?? []).map((p) => [decodeKey(p.key), p.value])),
      tags,
      metrics: Object.fromEntries((run.data?.metrics ?? []).map((m) => [decodeKey(m.key), Number(m.value)])),
    };
    if (error !== undefined) info.error = error;
    return info;
  }

  async function runningRun(runId: string): Promise<MlflowRun> {
    const run = await fetchRun(runId);
    if (run.info.status !== 'RUNNING')
      throw new SkiffError(
        'BAD_INPUT',
        `run ${runId} has ended (${STATUS_FROM_MLFLOW[run.info.status] ?? run.info.status})`,
      );
    return run;
  }

  async function logBatch(
    runId: string,
    body: { params?: unknown[]; metrics?: unknown[]; tags?: unknown[] },
  ): Promise<void> {
    try {
      await client.post('runs/log-batch', { run_id: runId, ...body });
    } catch (e) {
      if (mlflowErrorCode(e) === 'INVALID_PARAMETER_VALUE')
        throw new SkiffError('BAD_INPUT', (e as Error).message.replace(/^MLflow POST \S+: /, ''), { cause: e });
      throw e;
    }
  }

  const paramsBody = (params: Record<string, unknown>) =>
    Object.entries(params).map(([k, v]) => ({ key: encodeKey(k), value: paramToString(v) }));

  return {
    async startRun(input = {}) {
      const experiment = input.experiment ?? defaultExperiment;
      assertExperiment(experiment);
      const expId = await ensureExperiment(client, experiment);
      experimentNames.set(expId, experiment);
      const started = now();
      const name = input.name ?? `run-${started.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
      const { run } = await client.post<{ run: MlflowRun }>('runs/create', {
        experiment_id: expId,
        run_name: name,
        start_time: started.getTime(),
        tags: Object.entries(input.tags ?? {}).map(([k, v]) => ({ key: encodeKey(k), value: v })),
      });
      const params = paramsBody(input.params ?? {});
      if (params.length) await logBatch(run.info.run_id, { params });
      return toInfo(await fetchRun(run.info.run_id));
    },

    async logParams(runId, params) {
      await runningRun(runId);
      const body = paramsBody(params);
      if (body.length) await logBatch(runId, { params: body });
    },

    async logMetrics(runId, metrics, step = 0) {
      assertMetrics(metrics, step);
      await runningRun(runId);
      const timestamp = now().getTime();
      const body = Object.entries(metrics).map(([k, value]) => ({ key: encodeKey(k), value, timestamp, step }));
      if (body.length) await logBatch(runId, { metrics: body });
    },

    async endRun(runId, outcome) {
      if (!(outcome.status in STATUS_TO_MLFLOW))
        throw new SkiffError('BAD_INPUT', `a run ends as finished, failed or killed, not ${String(outcome.status)}`);
      await runningRun(runId);
      if (outcome.error !== undefined)
        await client.post('runs/set-tag', { run_id: runId, key: ERROR_TAG, value: outcome.error.slice(0, 5000) });
      await client.post('runs/update', {
        run_id: runId,
        status: STATUS_TO_MLFLOW[outcome.status],
        end_time: now().getTime(),
      });
      return toInfo(await fetchRun(runId));
    },

    async listRuns(filter = {}) {
      let ids: string[];
      if (filter.experiment !== undefined) {
        assertExperiment(filter.experiment);
        const id = await experimentIdIfExists(filter.experiment);
        if (!id) return [];
        ids = [id];
      } else {
        ids = [];
        let pageToken: string | undefined;
        do {
          const page = await client.post<{
            experiments?: Array<{ experiment_id: string; name: string; tags?: Array<{ key: string; value: string }> }>;
            next_page_token?: string;
          }>('experiments/search', { max_results: 1000, page_token: pageToken });
          for (const e of page.experiments ?? []) {
            experimentNames.set(e.experiment_id, e.name);
            if (!(e.tags ?? []).some((t) => t.key === 'skiff.kind' && t.value === 'registry'))
              ids.push(e.experiment_id);
          }
          pageToken = page.next_page_token || undefined;
        } while (pageToken);
        if (ids.length === 0) return [];
      }
      const runs: MlflowRun[] = [];
      let pageToken: string | undefined;
      const clauses: string[] = [];
      // A tag value the filter grammar cannot state is matched here, after the search: the limit then too.
      let matchHere = false;
      if (filter.status)
        clauses.push(
          `attributes.status = '${filter.status === 'running' ? 'RUNNING' : STATUS_TO_MLFLOW[filter.status]}'`,
        );
      for (const [k, v] of Object.entries(filter.tags ?? {})) {
        const value = literal(v);
        if (value === null) matchHere = true;
        else clauses.push(`tags.\`${encodeKey(k)}\` = ${value}`);
      }
      const limit = matchHere ? Infinity : (filter.limit ?? Infinity);
      do {
        const page = await client.post<{ runs?: MlflowRun[]; next_page_token?: string }>('runs/search', {
          experiment_ids: ids,
          ...(clauses.length ? { filter: clauses.join(' AND ') } : {}),
          max_results: Math.min(1000, limit),
          order_by: ['attributes.start_time DESC'],
          page_token: pageToken,
        });
        runs.push(...(page.runs ?? []));
        pageToken = page.next_page_token || undefined;
      } while (pageToken && runs.length < limit);
      const infos = (await Promise.all(runs.slice(0, limit === Infinity ? undefined : limit).map(toInfo))).filter((r) =>
        Object.entries(filter.tags ?? {}).every(([k, v]) => r.tags[k] === v),
      );
      return filter.limit !== undefined ? infos.slice(0, filter.limit) : infos;
    },

    async getRun(runId) {
      const run = await fetchRun(runId);
      const info = await toInfo(run);
      const history: MetricPoint[] = [];
      for (const m of run.data?.metrics ?? []) {
        let pageToken: string | undefined;
        do {
          const page = await client.get<{
            metrics?: Array<{ key: string; value: number | string; timestamp: number; step?: number }>;
            next_page_token?: string;
          }>('metrics/get-history', {
            run_id: runId,
            metric_key: m.key,
            max_results: 25000,
            page_token: pageToken,
          });
          for (const p of page.metrics ?? [])
            history.push({
              key: decodeKey(p.key),
              value: Number(p.value),
              step: p.step ?? 0,
              at: new Date(p.timestamp).toISOString(),
            });
          pageToken = page.next_page_token || undefined;
        } while (pageToken);
      }
      history.sort((a, b) => a.step - b.step || a.at.localeCompare(b.at));
      return { ...info, history };
    },
  };
}
