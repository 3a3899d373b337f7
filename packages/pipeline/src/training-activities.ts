import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  GateSchema,
  SkiffError,
  SplitChecksSchema,
  SELECTION_EXPERIMENT,
  TrainParamsSchema,
  describeSplitSizes,
  splitProblems,
  type Gate,
  type SplitChecks,
  type SplitRule,
  type CheckResult,
  type DatasetSnapshot,
  type EvaluateOutput,
  type Candidate,
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
import type { GateDecision } from './gate.js';
import type { CandidateResult } from './selection.js';

/** What tells candidate sets apart: a hash of every candidate's name and params, in order. */
export function candidateSetId(candidates: readonly Candidate[]): string {
  return createHash('sha256')
    .update(JSON.stringify(candidates.map((c) => [c.name, c.params])))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Runs `work` inside a tracked run (when there is a tracker): the run ends `finished` when the work
 * returns and `failed`, with the error, when it throws; a tracker that cannot record the failure
 * does not hide the error of the work.
 */
async function inTrackedRun<T>(
  tracker: ExperimentTracker | undefined,
  run: { runId: string } | undefined,
  work: () => Promise<T>,
): Promise<T> {
  try {
    const out = await work();
    if (run) await tracker!.endRun(run.runId, { status: 'finished' });
    return out;
  } catch (e) {
    if (run) await tracker!.endRun(run.runId, { status: 'failed', error: (e as Error).message }).catch(() => undefined);
    throw e;
  }
}

/** Everything the stages need, built by the composition root (`@skiff/runtime`). */
export interface PipelineDeps {
  /** Opens the warehouse for one stage and closes it after (DuckDB allows one writer process). */
  openWarehouse: () => Promise<Warehouse>;
  registry: ModelRegistry;
  trainer: Trainer;
  /** Experiment tracking: every training run, registered or not (optional). */
  tracker?: ExperimentTracker;
  paths: {
    raw: string;
    snapshots: string;
    artifacts: string;
    /** Online events, ingested with the raw logs only when set (configuration). */ online?: string;
  };
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
  /** The gate's decision, kept in the manifest with the numbers it was made on. */
  decision?: GateDecision;
}

export interface PromoteResult {
  promoted: boolean;
  version: string;
  previous: string | null;
  reason: string;
  /** The version the alias now points to when something was promoted (a baseline's under promote-best). */
  promotedVersion?: string;
  /** The model promoted: `candidate` or a baseline's name. */
  promotedModel?: string;
}

export interface PromoteInput {
  version: string;
  metric: string;
  alias?: string;
  /** The gate's decision; without it, the older rule (strictly better than the champion's recorded metric). */
  decision?: GateDecision;
  /** What is needed to register a baseline that won under promote-best. */
  evaluation?: EvaluateOutput;
  snapshot?: DatasetSnapshot;
  workflowId?: string;
  runId?: string;
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

  /** Registers a baseline fitted by the evaluate stage (idempotent per run, like register). */
  async function registerBaseline(name: string, input: PromoteInput, candidate: ModelManifest): Promise<ModelManifest> {
    const dir = input.evaluation?.baselineArtifacts?.[name];
    const metrics = input.evaluation?.baselines[name];
    if (!dir || !metrics || !input.snapshot)
      throw new SkiffError(
        'BAD_INPUT',
        `promote: the ${name} baseline won but its artifact, metrics or snapshot were not passed`,
        { retryable: false },
      );
    const runId = `${input.runId ?? candidate.lineage.runId ?? 'run'}:${name}`;
    const workflowId = input.workflowId ?? candidate.lineage.workflowId ?? 'unknown';
    const existing = (await deps.registry.list()).find(
      (v) => v.lineage.workflowId === workflowId && v.lineage.runId === runId,
    );
    if (existing) return existing;
    return deps.registry.register({
      name,
      sourceDir: dir,
      metrics,
      baselineMetrics: {
        ...Object.fromEntries(Object.entries(input.evaluation!.baselines).filter(([k]) => k !== name)),
        candidate: input.evaluation!.metrics,
      },
      params: {
        model: name,
        ...(input.decision ? { gate: input.decision } : {}),
        testPredictions: input.evaluation!.predictions,
      },
      lineage: { ...candidate.lineage, runId, workflowId, backend: 'js' },
    });
  }

  return {
    async ingest(input: { inputs?: string[] }): Promise<LoadResult> {
      const explicit = input.inputs && input.inputs.length > 0;
      // The default raw folder may be absent or empty (files ingested by hand, say): nothing new to
      // load, and the run goes on with what the warehouse holds. Inputs named by the caller must exist.
      const defaults = [
        deps.paths.raw,
        ...(deps.paths.online && existsSync(deps.paths.online) ? [deps.paths.online] : []),
      ];
      const r = await withWarehouse(deps, (wh) =>
        explicit ? wh.load(input.inputs!) : wh.load(defaults, { allowEmpty: true }),
      );
      log('ingest').info('load finished', {
        loadId: r.loadId,
        rows: r.rows,
        loaded: r.loaded,
        quarantined: r.quarantined,
        skipped: r.skipped,
      });
      return r;
    },

    async transform(input: { split?: SplitRule } = {}): Promise<TransformResult> {
      return withWarehouse(deps, (wh) => wh.transform(input.split ? { split: input.split } : {}));
    },

    /** Runs every check; fails loudly with all failures at once. */
    async validate(): Promise<CheckResult> {
      const r = await withWarehouse(deps, (wh) => wh.check());
      if (!r.passed) {
        const failed = r.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.detail})`);
        throw new SkiffError('DATA_QUALITY_FAILED', `data-quality checks failed: ${failed.join('; ')}`, {
          details: { checks: r.checks },
        });
      }
      return r;
    },

    /**
     * Writes the snapshot and checks the split's sizes: a split with too few sessions or prediction
     * points fails the run here, before any training, with every size in the message.
     */
    async snapshot(input: { splitChecks?: Partial<SplitChecks> } = {}): Promise<DatasetSnapshot> {
      const snap = await withWarehouse(deps, (wh) => wh.snapshot(deps.paths.snapshots));
      const checks = SplitChecksSchema.parse(input.splitChecks ?? {});
      if (snap.split) {
        const problems = splitProblems(snap.split, checks);
        log('snapshot').info('split', {
          snapshotId: snap.snapshotId,
          rule: snap.split.rule,
          sizes: describeSplitSizes(snap.split),
        });
        if (problems.length > 0)
          throw new SkiffError(
            'DATA_QUALITY_FAILED',
            `split too small: ${problems.join('; ')} (${describeSplitSizes(snap.split)}; validation from ${snap.split.validationStart}, test from ${snap.split.testStart})`,
            {
              retryable: false,
              details: { split: snap.split, checks },
            },
          );
      }
      return snap;
    },

    async train(input: {
      snapshot: DatasetSnapshot;
      params: TrainParams;
      runId: string;
      /** The tracker's parent run when this is the refit of a model selection. */
      parentRunId?: string;
    }): Promise<TrainOutput> {
      const params = TrainParamsSchema.parse(input.params);
      const resume = hooks.resumeFrom?.();
      const outDir = path.join(deps.paths.artifacts, input.runId.replace(/[^\w.-]/g, '_'));
      log('train').info('training', {
        model: params.model,
        snapshotId: input.snapshot.snapshotId,
        resumeFromEpoch: resume?.epoch,
      });
      // One tracked run per training attempt: params, loss per epoch, timings, outcome.
      const run = await deps.tracker?.startRun({
        experiment: params.model,
        name: input.runId,
        tags: {
          snapshotId: input.snapshot.snapshotId,
          workflowId: input.runId,
          ...(input.parentRunId ? { parentRunId: input.parentRunId, role: 'refit' } : {}),
        },
        params: { ...params },
      });
      return inTrackedRun(deps.tracker, run, async () => {
        const out = await deps.trainer.train({
          snapshot: input.snapshot,
          params,
          outDir,
          ...(resume?.epoch !== undefined ? { initialEpoch: resume.epoch } : {}),
          onProgress: async (p) => {
            if (p.epoch !== undefined && p.batch === undefined) {
              log('train').info('epoch', { ...p });
              if (run && p.loss !== undefined) await deps.tracker!.logMetrics(run.runId, { loss: p.loss }, p.epoch);
              if (run && p.valHr20 !== undefined)
                await deps.tracker!.logMetrics(
                  run.runId,
                  { 'val_hr@20': p.valHr20, 'val_mrr@20': p.valMrr20 ?? 0 },
                  p.epoch,
                );
            }
            await hooks.progress?.(p);
          },
          ...(hooks.signal?.() ? { signal: hooks.signal()! } : {}),
        });
        if (run) {
          await deps.tracker!.logMetrics(
            run.runId,
            { trainSeconds: out.trainSeconds, samplesPerSecond: out.samplesPerSecond },
            params.epochs,
          );
          await deps.tracker!.logParams(run.runId, { backend: out.backend, artifactDir: out.artifactDir });
        }
        return out;
      });
    },

    /**
     * Opens the tracker's parent run of a model selection (the candidates and the refit are its
     * children, tagged with its id). A selection is its workflow id, snapshot and candidate set: a
     * retry finds the open run of the same selection; a parent still open for the workflow id with
     * another snapshot or candidate set was left by an earlier run that never ended it, and is ended
     * as killed rather than reused.
     */
    async startSelection(input: {
      workflowId: string;
      snapshotId: string;
      candidates: Candidate[];
    }): Promise<{ parentRunId: string | null }> {
      if (!deps.tracker) return { parentRunId: null };
      const identity = {
        workflowId: input.workflowId,
        snapshotId: input.snapshotId,
        candidateSet: candidateSetId(input.candidates),
      };
      const open = await deps.tracker.listRuns({
        experiment: SELECTION_EXPERIMENT,
        status: 'running',
        tags: { workflowId: input.workflowId },
      });
      // A parent opened by an older skiff has no candidateSet tag: for the same workflow and
      // snapshot it is this selection (a retried activity of a workflow that started before).
      const same = (r: (typeof open)[number]) =>
        r.tags['snapshotId'] === identity.snapshotId &&
        (r.tags['candidateSet'] ?? identity.candidateSet) === identity.candidateSet;
      const existing = open.find(same);
      for (const stale of open.filter((r) => !same(r)))
        await deps.tracker
          .endRun(stale.runId, {
            status: 'killed',
            error: `superseded: a later run of ${input.workflowId} selects over another snapshot or candidate set`,
          })
          .catch(() => undefined);
      if (existing) return { parentRunId: existing.runId };
      const run = await deps.tracker.startRun({
        experiment: SELECTION_EXPERIMENT,
        name: input.workflowId,
        tags: { ...identity, role: 'selection' },
        params: { candidates: input.candidates.map((c) => c.name).join(',') },
      });
      log('select').info('model selection', {
        candidates: input.candidates.map((c) => c.name),
        parentRunId: run.runId,
      });
      return { parentRunId: run.runId };
    },

    /**
     * One candidate of a model selection: trained on train, scored on validation after every epoch
     * (early stopping with its own patience), no refit. Heartbeats carry the candidate's name; a
     * retry resumes from the candidate's own checkpoint folder.
     */
    async trainCandidate(input: {
      snapshot: DatasetSnapshot;
      candidate: Candidate;
      runId: string;
      parentRunId?: string;
    }): Promise<CandidateResult> {
      const { name } = input.candidate;
      const params = TrainParamsSchema.parse(input.candidate.params);
      const resume = hooks.resumeFrom?.();
      const outDir = path.join(deps.paths.artifacts, `${input.runId.replace(/[^\w.-]/g, '_')}-candidates`, name);
      log('select').info('training candidate', {
        candidate: name,
        model: params.model,
        resumeFromEpoch: resume?.epoch,
      });
      const run = await deps.tracker?.startRun({
        experiment: params.model,
        name: `${input.runId}-${name}`,
        tags: {
          snapshotId: input.snapshot.snapshotId,
          workflowId: input.runId,
          candidate: name,
          role: 'candidate',
          ...(input.parentRunId ? { parentRunId: input.parentRunId } : {}),
        },
        params: { ...params },
      });
      return inTrackedRun(deps.tracker, run, async () => {
        const out = await deps.trainer.train({
          snapshot: input.snapshot,
          params,
          outDir,
          selectOnly: true,
          ...(resume?.epoch !== undefined ? { initialEpoch: resume.epoch } : {}),
          onProgress: async (p) => {
            if (run && p.valHr20 !== undefined)
              await deps.tracker!.logMetrics(
                run.runId,
                { 'val_hr@20': p.valHr20, 'val_mrr@20': p.valMrr20 ?? 0, epoch: p.epoch ?? 0 },
                p.epoch ?? 0,
              );
            await hooks.progress?.({ ...p, candidate: name });
          },
          ...(hooks.signal?.() ? { signal: hooks.signal()! } : {}),
        });
        const selection = out.selection;
        if (!selection)
          throw new SkiffError('TRAINING_FAILED', `candidate ${name}: the trainer reported no validation scores`, {
            retryable: false,
          });
        const at = selection.validation.find((v) => v.epoch === selection.chosenEpochs) ?? selection.validation.at(-1);
        const validation = { 'hr@20': at?.['hr@20'] ?? 0, 'mrr@20': at?.['mrr@20'] ?? 0 };
        const result: CandidateResult = {
          name,
          params,
          validation,
          score: validation['hr@20'] + validation['mrr@20'],
          chosenEpochs: selection.chosenEpochs,
          epochsRun: selection.epochsRun,
          stoppedEarly: selection.stoppedEarly,
          trainSeconds: out.trainSeconds,
          selection,
          ...(run ? { trackerRunId: run.runId } : {}),
        };
        log('select').info('candidate scored', {
          candidate: name,
          'val_hr@20': validation['hr@20'],
          'val_mrr@20': validation['mrr@20'],
          chosenEpochs: selection.chosenEpochs,
          trainSeconds: out.trainSeconds,
        });
        if (run) {
          await deps.tracker!.logMetrics(
            run.runId,
            { score: result.score, chosenEpochs: result.chosenEpochs, trainSeconds: out.trainSeconds },
            selection.epochsRun,
          );
        }
        return result;
      });
    },

    /** Records the choice on the parent run and ends it (a retry finds it ended and does nothing). */
    async finishSelection(input: {
      parentRunId: string | null;
      chosen: string;
      results: Array<Pick<CandidateResult, 'name' | 'score' | 'validation' | 'chosenEpochs'>>;
    }): Promise<void> {
      const chosen = input.results.find((r) => r.name === input.chosen);
      log('select').info('candidate chosen', {
        chosen: input.chosen,
        scores: Object.fromEntries(input.results.map((r) => [r.name, Number(r.score.toFixed(4))])),
      });
      if (!deps.tracker || !input.parentRunId) return;
      const run = await deps.tracker.getRun(input.parentRunId);
      if (run.status !== 'running') return;
      await deps.tracker.logParams(input.parentRunId, {
        chosen: input.chosen,
        chosenEpochs: chosen?.chosenEpochs ?? null,
      });
      if (chosen)
        await deps.tracker.logMetrics(input.parentRunId, {
          'val_hr@20': chosen.validation['hr@20'],
          'val_mrr@20': chosen.validation['mrr@20'],
          score: chosen.score,
        });
      await deps.tracker.endRun(input.parentRunId, { status: 'finished' });
    },

    /**
     * The candidate on the test split next to the configured baselines (fitted on the same data) and
     * the current champion, with paired bootstrap intervals on the promotion metric. Without `gate`
     * (an input scheduled by a run that started before the gate existed): the candidate, POP and SR only.
     */
    async evaluate(input: {
      snapshot: DatasetSnapshot;
      artifactDir: string;
      metric?: string;
      gate?: Partial<Gate>;
      splitChecks?: Partial<SplitChecks>;
      alias?: string;
      candidateKind?: string;
    }): Promise<EvaluateOutput> {
      if (!input.gate) {
        const r = await deps.trainer.evaluate({
          snapshot: input.snapshot,
          artifactDir: input.artifactDir,
          ks: [10, 20],
        });
        log('evaluate').info('evaluated', { metrics: r.metrics, pop: r.baselines['pop'], predictions: r.predictions });
        return r;
      }
      const gate = GateSchema.parse(input.gate);
      const checks = SplitChecksSchema.parse(input.splitChecks ?? {});
      const championVersion = (await deps.registry.aliases())[input.alias ?? 'production'];
      const champion = championVersion ? await deps.registry.get(championVersion) : undefined;
      const r = await deps.trainer.evaluate({
        snapshot: input.snapshot,
        artifactDir: input.artifactDir,
        ks: [10, 20],
        // A baseline of the candidate's own kind would only compare the model with itself.
        baselines: gate.baselines.filter((b) => b !== input.candidateKind),
        baselineDir: path.join(input.artifactDir, '..', `${path.basename(input.artifactDir)}-baselines`),
        ...(champion ? { champion: { version: champion.manifest.version, artifactDir: champion.dir } } : {}),
        gate: {
          metric: input.metric ?? 'hr@20',
          confidence: gate.confidence,
          resamples: gate.resamples,
          seed: gate.seed,
        },
        minPredictions: checks.minPredictions,
        ...(hooks.progress ? { onProgress: hooks.progress } : {}),
      });
      log('evaluate').info('evaluated', {
        metrics: r.metrics,
        baselines: r.baselines,
        predictions: r.predictions,
        champion: championVersion ?? null,
      });
      return r;
    },

    async register(input: RegisterInput): Promise<ModelManifest> {
      // Idempotent: a retry after a crash between "registered" and "reported" finds its version.
      const existing = (await deps.registry.list()).find(
        (v) => v.lineage.workflowId === input.workflowId && v.lineage.runId === input.runId,
      );
      if (existing) {
        log('register').info('already registered by this run', { modelVersion: existing.version });
        return existing;
      }
      const m = await deps.registry.register({
        name: input.name,
        sourceDir: input.train.artifactDir,
        metrics: input.evaluation.metrics,
        baselineMetrics: input.evaluation.baselines,
        params: {
          ...input.params,
          epochsRun: input.train.epochs,
          losses: input.train.losses,
          validation: input.train.validation ?? [],
          resumedFromEpoch: input.train.resumedFromEpoch ?? 0,
          trainSeconds: input.train.trainSeconds,
          ...(input.train.selection ? { selection: input.train.selection } : {}),
          ...(input.decision ? { gate: input.decision } : {}),
          ...(input.evaluation.predictions ? { testPredictions: input.evaluation.predictions } : {}),
        },
        lineage: {
          snapshotId: input.snapshot.snapshotId,
          loadIds: input.snapshot.loadIds,
          workflowId: input.workflowId,
          runId: input.runId,
          codeVersion: deps.codeVersion,
          backend: input.train.backend,
          ...(input.snapshot.split ? { split: input.snapshot.split } : {}),
        },
      });
      log('register').info('registered', { modelVersion: m.version });
      return m;
    },

    /**
     * Applies the gate's decision: moves `production` to the promoted model (the candidate, or under
     * promote-best a baseline, registered here first) with the decision, numbers and interval as the
     * reason. Refuses when the champion moved since the comparison was made. Without a decision:
     * promotes when there is no champion or the candidate's metric is strictly better.
     */
    async promote(input: PromoteInput): Promise<PromoteResult> {
      const alias = input.alias ?? 'production';
      const candidate = (await deps.registry.get(input.version)).manifest;
      const aliases = await deps.registry.aliases();
      const championVersion = aliases[alias] ?? null;
      const actor = `pipeline:${candidate.lineage.workflowId ?? 'unknown'}`;
      const d = input.decision;
      if (!d) {
        const decision = decidePromotion(
          candidate.metrics,
          championVersion ? (await deps.registry.get(championVersion)).manifest : null,
          input.metric,
        );
        if (decision.promote)
          await deps.registry.setAlias(alias, candidate.version, { reason: decision.reason, actor });
        log('promote').info(decision.promote ? 'promoted' : 'not promoted', {
          modelVersion: candidate.version,
          reason: decision.reason,
        });
        return {
          promoted: decision.promote,
          version: candidate.version,
          previous: championVersion,
          reason: decision.reason,
          ...(decision.promote ? { promotedVersion: candidate.version, promotedModel: 'candidate' } : {}),
        };
      }
      if (d.promote && championVersion !== d.champion) {
        const reason = `not promoted: ${alias} moved to ${championVersion ?? '(unset)'} since the comparison against ${d.champion ?? 'no champion'}; ${d.reason}`;
        log('promote').warn('not promoted', { modelVersion: candidate.version, reason });
        return { promoted: false, version: candidate.version, previous: championVersion, reason };
      }
      if (!d.promote) {
        const reason = `not promoted: ${d.reason}`;
        log('promote').info('not promoted', { modelVersion: candidate.version, reason });
        return { promoted: false, version: candidate.version, previous: championVersion, reason };
      }
      let target = candidate.version;
      if (d.promote !== 'candidate') target = (await registerBaseline(d.promote, input, candidate)).version;
      const reason = `promoted ${d.promote === 'candidate' ? candidate.version : `${d.promote} baseline ${target} (over candidate ${candidate.version})`}: ${d.reason}`;
      await deps.registry.setAlias(alias, target, { reason, actor });
      log('promote').info('promoted', { modelVersion: target, reason });
      return {
        promoted: true,
        version: candidate.version,
        previous: championVersion,
        reason,
        promotedVersion: target,
        promotedModel: d.promote,
      };
    },
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;

/** Pure promotion rule, kept apart so it can be tested on its own. */
export function decidePromotion(
  candidate: Metrics,
  champion: ModelManifest | null,
  metric: string,
): { promote: boolean; reason: string } {
  const c = candidate[metric];
  if (c === undefined) return { promote: false, reason: `candidate has no ${metric}` };
  if (!champion) return { promote: true, reason: `no champion; ${metric}=${c.toFixed(4)}` };
  const h = champion.metrics[metric] ?? -Infinity;
  return c > h
    ? { promote: true, reason: `${metric} ${c.toFixed(4)} beats champion ${champion.version} (${h.toFixed(4)})` }
    : {
        promote: false,
        reason: `${metric} ${c.toFixed(4)} does not beat champion ${champion.version} (${h.toFixed(4)})`,
      };
}
