import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  SkiffError,
  TrainParamsSchema,
  type CheckResult,
  type DatasetSnapshot,
  type EvaluateOutput,
  type ExperimentTracker,
  type LoadResult,
  type Logger,
  type Metrics,
  type ModelManifest,
  type ModelRegistry,
  type Progress,
  type TrainOutput,
  type TrainParams,
  type Trainer,
  type TransformResult,
  type Warehouse,
} from '@skiff/core';

/** Everything the stages need, built by the composition root (apps/worker, apps/cli). */
export interface PipelineDeps {
  /** Opens the warehouse for one stage and closes it after (DuckDB allows one writer process). */
  openWarehouse: () => Promise<Warehouse>;
  registry: ModelRegistry;
  trainer: Trainer;
  /** Experiment tracking: every training run, registered or not (optional). */
  tracker?: ExperimentTracker;
  paths: { raw: string; snapshots: string; artifacts: string; /** Online events, ingested with the raw logs only when set (configuration). */ online?: string };
  logger: Logger;
  codeVersion: string;
}

/** Runner-specific hooks: Temporal maps them to heartbeats and the activity's cancellation signal. */
export interface ActivityHooks {
  progress?: (p: Progress) => void | Promise<void>;
  signal?: () => AbortSignal | undefined;
  /** Last heartbeat details after a retry, to resume training. */
  resumeFrom?: () => Progress | undefined;
}

export interface RegisterInput {
  name: string;
  train: TrainOutput;
  evaluation: EvaluateOutput;
  params: TrainParams;
  snapshot: DatasetSnapshot;
  workflowId: string;
  runId: string;
}

export interface PromoteResult {
  promoted: boolean;
  version: string;
  previous: string | null;
  reason: string;
}

async function withWarehouse<T>(deps: PipelineDeps, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await deps.openWarehouse();
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/**
 * The stage functions of the training pipeline. Inputs and outputs are JSON so that they can be
 * Temporal activity payloads; the same object backs the inline runner.
 */
export function createPipelineActivities(deps: PipelineDeps, hooks: ActivityHooks = {}) {
  const log = (stage: string) => deps.logger.child({ stage });
  return {
    async ingest(input: { inputs?: string[] }): Promise<LoadResult> {
      const inputs = input.inputs && input.inputs.length > 0 ? input.inputs : [deps.paths.raw, ...(deps.paths.online && existsSync(deps.paths.online) ? [deps.paths.online] : [])];
      const r = await withWarehouse(deps, (wh) => wh.load(inputs));
      log('ingest').info('load finished', { loadId: r.loadId, rows: r.rows, loaded: r.loaded, quarantined: r.quarantined, skipped: r.skipped });
      return r;
    },

    async transform(): Promise<TransformResult> {
      return withWarehouse(deps, (wh) => wh.transform());
    },

    /** Runs every check; fails loudly with all failures at once. */
    async validate(): Promise<CheckResult> {
      const r = await withWarehouse(deps, (wh) => wh.check());
      if (!r.passed) {
        const failed = r.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.detail})`);
        throw new SkiffError('DATA_QUALITY_FAILED', `data-quality checks failed: ${failed.join('; ')}`, { details: { checks: r.checks } });
      }
      return r;
    },

    async snapshot(): Promise<DatasetSnapshot> {
      return withWarehouse(deps, (wh) => wh.snapshot(deps.paths.snapshots));
    },

    async train(input: { snapshot: DatasetSnapshot; params: TrainParams; runId: string }): Promise<TrainOutput> {
      const params = TrainParamsSchema.parse(input.params);
      const resume = hooks.resumeFrom?.();
      const outDir = path.join(deps.paths.artifacts, input.runId.replace(/[^\w.-]/g, '_'));
      log('train').info('training', { model: params.model, snapshotId: input.snapshot.snapshotId, resumeFromEpoch: resume?.epoch });
      // One tracked run per training attempt: params, loss per epoch, timings, outcome.
      const run = await deps.tracker?.startRun({ experiment: params.model, name: input.runId, tags: { snapshotId: input.snapshot.snapshotId, workflowId: input.runId }, params: { ...params } });
      try {
        const out = await deps.trainer.train({
          snapshot: input.snapshot,
          params,
          outDir,
          ...(resume?.epoch !== undefined ? { initialEpoch: resume.epoch } : {}),
          onProgress: async (p) => {
            if (p.epoch !== undefined && p.batch === undefined) {
              log('train').info('epoch', { ...p });
              if (run && p.loss !== undefined) await deps.tracker!.logMetrics(run.runId, { loss: p.loss }, p.epoch);
              if (run && p.valHr20 !== undefined) await deps.tracker!.logMetrics(run.runId, { 'val_hr@20': p.valHr20, 'val_mrr@20': p.valMrr20 ?? 0 }, p.epoch);
            }
            await hooks.progress?.(p);
          },
          ...(hooks.signal?.() ? { signal: hooks.signal()! } : {}),
        });
        if (run) {
          await deps.tracker!.logMetrics(run.runId, { trainSeconds: out.trainSeconds, samplesPerSecond: out.samplesPerSecond }, params.epochs);
          await deps.tracker!.logParams(run.runId, { backend: out.backend, artifactDir: out.artifactDir });
          await deps.tracker!.endRun(run.runId, { status: 'finished' });
        }
        return out;
      } catch (e) {
        if (run) await deps.tracker!.endRun(run.runId, { status: 'failed', error: (e as Error).message }).catch(() => undefined);
        throw e;
      }
    },

    async evaluate(input: { snapshot: DatasetSnapshot; artifactDir: string }): Promise<EvaluateOutput> {
      const r = await deps.trainer.evaluate({ snapshot: input.snapshot, artifactDir: input.artifactDir, ks: [10, 20] });
      log('evaluate').info('evaluated', { metrics: r.metrics, pop: r.baselines['pop'], predictions: r.predictions });
      return r;
    },

    async register(input: RegisterInput): Promise<ModelManifest> {
      // Idempotent: a retry after a crash between "registered" and "reported" finds its version.
      const existing = (await deps.registry.list()).find((v) => v.lineage.workflowId === input.workflowId && v.lineage.runId === input.runId);
      if (existing) {
        log('register').info('already registered by this run', { modelVersion: existing.version });
        return existing;
      }
      const m = await deps.registry.register({
        name: input.name,
        sourceDir: input.train.artifactDir,
        metrics: input.evaluation.metrics,
        baselineMetrics: input.evaluation.baselines,
        params: { ...input.params, epochsRun: input.train.epochs, losses: input.train.losses, validation: input.train.validation ?? [], resumedFromEpoch: input.train.resumedFromEpoch ?? 0, trainSeconds: input.train.trainSeconds },
        lineage: {
          snapshotId: input.snapshot.snapshotId,
          loadIds: input.snapshot.loadIds,
          workflowId: input.workflowId,
          runId: input.runId,
          codeVersion: deps.codeVersion,
          backend: input.train.backend,
        },
      });
      log('register').info('registered', { modelVersion: m.version });
      return m;
    },

    /** Moves `production` to the candidate when there is no champion or the candidate is better. */
    async promote(input: { version: string; metric: string; alias?: string }): Promise<PromoteResult> {
      const alias = input.alias ?? 'production';
      const candidate = (await deps.registry.get(input.version)).manifest;
      const aliases = await deps.registry.aliases();
      const championVersion = aliases[alias] ?? null;
      const decision = decidePromotion(candidate.metrics, championVersion ? (await deps.registry.get(championVersion)).manifest : null, input.metric);
      if (decision.promote) await deps.registry.setAlias(alias, candidate.version, { reason: decision.reason, actor: `pipeline:${candidate.lineage.workflowId ?? 'unknown'}` });
      log('promote').info(decision.promote ? 'promoted' : 'not promoted', { modelVersion: candidate.version, reason: decision.reason });
      return { promoted: decision.promote, version: candidate.version, previous: championVersion, reason: decision.reason };
    },
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;

/** Pure promotion rule, kept apart so it can be tested on its own. */
export function decidePromotion(candidate: Metrics, champion: ModelManifest | null, metric: string): { promote: boolean; reason: string } {
  const c = candidate[metric];
  if (c === undefined) return { promote: false, reason: `candidate has no ${metric}` };
  if (!champion) return { promote: true, reason: `no champion; ${metric}=${c.toFixed(4)}` };
  const h = champion.metrics[metric] ?? -Infinity;
  return c > h
    ? { promote: true, reason: `${metric} ${c.toFixed(4)} beats champion ${champion.version} (${h.toFixed(4)})` }
    : { promote: false, reason: `${metric} ${c.toFixed(4)} does not beat champion ${champion.version} (${h.toFixed(4)})` };
}
