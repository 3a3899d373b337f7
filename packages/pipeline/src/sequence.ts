import type { DatasetSnapshot, GateComparison, Metrics, PipelineParams, SplitSummary } from '@skiff/core';
import type { PipelineActivities } from './training-activities.js';
import { decideGate, type GateDecision } from './gate.js';
import {
  distinctParams,
  pickCandidate,
  refitParams,
  type CandidateResult,
  type SelectionSummary,
} from './selection.js';

/** The activity surface the sequence calls; Temporal's proxy and the inline runner both fit it. */
export type PipelineSteps = {
  [K in keyof PipelineActivities]: (...args: Parameters<PipelineActivities[K]>) => ReturnType<PipelineActivities[K]>;
};

export interface PipelineRunResult {
  workflowId: string;
  loadId: string;
  snapshotId: string;
  modelVersion: string;
  metrics: Metrics;
  baselines: Record<string, Metrics>;
  promoted: boolean;
  promotionReason: string;
  backend: string;
  /** The version `production` points to after this run when something was promoted (a baseline's under promote-best). */
  promotedVersion?: string;
  /** The split the run was tested on: rule, cuts and sizes. */
  split?: SplitSummary;
  /** Test prediction points behind the metrics. */
  predictions?: number;
  /** Every model of the comparison and the paired intervals. */
  comparison?: GateComparison;
  decision?: GateDecision;
  /** Model selection: epochs chosen on validation before the refit on train + validation. */
  selection?: { chosenEpochs: number; epochsRun: number; stoppedEarly: boolean };
  /** Model selection over several candidates: every candidate's validation scores and the one chosen (then refitted). */
  candidates?: SelectionSummary;
}

/** One candidate as the progress query shows it while the candidates train. */
export interface CandidateProgress {
  name: string;
  /** The params that differ between the candidates. */
  params: Record<string, unknown>;
  state: 'training' | 'done' | 'chosen';
  'val_hr@20'?: number;
  'val_mrr@20'?: number;
  score?: number;
  chosenEpochs?: number;
}

/** What the sequence knows so far, reported with each stage (for progress queries). */
export interface StageInfo {
  snapshot?: DatasetSnapshot;
  metrics?: Metrics;
  baselines?: Record<string, Metrics>;
  candidates?: CandidateProgress[];
}

/** Change id (Temporal patch) of ending the model selection before the refit rather than after it. */
export const FINISH_SELECTION_BEFORE_REFIT = 'finish-selection-before-refit';

export type PipelineStage =
  'ingest' | 'transform' | 'validate' | 'snapshot' | 'select' | 'train' | 'evaluate' | 'register' | 'promote' | 'done';

/**
 * The training pipeline, in one place: ingest → transform → validate → snapshot → train → evaluate
 * → register → promote. Deterministic (no clock, no randomness, no I/O of its own), so Temporal can
 * replay it as a workflow body and the inline runner can call it directly.
 */
export async function runTrainingPipeline(
  acts: PipelineSteps,
  params: PipelineParams,
  ctx: {
    workflowId: string;
    runId: string;
    onStage?: (stage: PipelineStage, info: StageInfo) => void;
    /**
     * Train the candidates of a model selection at the same time (the Temporal workflow: one
     * activity each, spread over the training workers) instead of one after another (inline).
     */
    parallel?: boolean;
    /**
     * Whether a change of the sequence applies to this run (Temporal's `patched`: true for new runs,
     * false while replaying a history recorded before the change). Without it every change applies.
     */
    patched?: (changeId: string) => boolean;
  },
): Promise<PipelineRunResult> {
  const stage = (s: PipelineStage, info: StageInfo = {}) => ctx.onStage?.(s, info);
  stage('ingest');
  const load = await acts.ingest({ ...(params.inputs ? { inputs: params.inputs } : {}) });
  stage('transform');
  await acts.transform({ ...(params.split ? { split: params.split } : {}) });
  stage('validate');
  await acts.validate();
  stage('snapshot');
  const snapshot = await acts.snapshot({ ...(params.splitChecks ? { splitChecks: params.splitChecks } : {}) });
  let trainParams = params.train;
  let selected: { summary: SelectionSummary; chosen: CandidateResult } | undefined;
  const candidates = params.candidates ?? [];
  const finishSelection = (s: { summary: SelectionSummary; chosen: CandidateResult }) =>
    acts.finishSelection({
      parentRunId: s.summary.parentRunId ?? null,
      chosen: s.chosen.name,
      results: s.summary.candidates,
    });
  let finishedBeforeRefit = false;
  if (candidates.length > 1) {
    selected = await selectCandidate(acts, candidates, snapshot, ctx, stage);
    trainParams = refitParams(selected.chosen);
    // The choice is recorded (and the tracker's parent run ended) as soon as it is made, so that a
    // refit that fails cannot leave the parent run open. Runs recorded before this order existed
    // replay the older one (refit first): the Temporal workflow answers through `patched`.
    finishedBeforeRefit = ctx.patched?.(FINISH_SELECTION_BEFORE_REFIT) ?? true;
    if (finishedBeforeRefit) await finishSelection(selected);
  }
  stage('train', { snapshot });
  const refit = await acts.train({
    snapshot,
    params: trainParams,
    runId: ctx.workflowId,
    ...(selected?.summary.parentRunId ? { parentRunId: selected.summary.parentRunId } : {}),
  });
  // The refit of a chosen candidate carries the selection made on validation by its candidate run.
  const train = selected ? { ...refit, selection: selected.chosen.selection } : refit;
  if (selected && !finishedBeforeRefit) await finishSelection(selected);
  stage('evaluate');
  // Baselines and the champion on the same test predictions, with intervals: the gate's evidence.
  const evaluation = await acts.evaluate({
    snapshot,
    artifactDir: train.artifactDir,
    metric: params.promotionMetric,
    gate: params.gate ?? {},
    candidateKind: trainParams.model,
    ...(params.splitChecks ? { splitChecks: params.splitChecks } : {}),
  });
  const decision = evaluation.comparison
    ? decideGate(evaluation.comparison, params.gate?.policy ?? 'candidate', { noWinner: params.gate?.noWinner })
    : undefined;
  stage('register', { metrics: evaluation.metrics, baselines: evaluation.baselines });
  const manifest = await acts.register({
    name: trainParams.model,
    train,
    evaluation,
    params: trainParams,
    snapshot,
    workflowId: ctx.workflowId,
    runId: ctx.runId,
    ...(decision ? { decision } : {}),
  });
  stage('promote');
  const promotion = await acts.promote({
    version: manifest.version,
    metric: params.promotionMetric,
    ...(decision ? { decision, evaluation, snapshot, workflowId: ctx.workflowId, runId: ctx.runId } : {}),
  });
  stage('done');
  return {
    workflowId: ctx.workflowId,
    loadId: load.loadId,
    snapshotId: snapshot.snapshotId,
    modelVersion: manifest.version,
    metrics: evaluation.metrics,
    baselines: evaluation.baselines,
    promoted: promotion.promoted,
    promotionReason: promotion.reason,
    backend: train.backend,
    ...(promotion.promotedVersion ? { promotedVersion: promotion.promotedVersion } : {}),
    ...(snapshot.split ? { split: snapshot.split } : {}),
    predictions: evaluation.predictions,
    ...(evaluation.comparison ? { comparison: evaluation.comparison } : {}),
    ...(decision ? { decision } : {}),
    ...(train.selection
      ? {
          selection: {
            chosenEpochs: train.selection.chosenEpochs,
            epochsRun: train.selection.epochsRun,
            stoppedEarly: train.selection.stoppedEarly,
          },
        }
      : {}),
    ...(selected ? { candidates: selected.summary } : {}),
  };
}

/**
 * Model selection: every candidate trained on train and scored on validation (all at once when
 * `ctx.parallel`), the best picked (ties: the earlier candidate). The tracker's parent run is
 * opened first so that every candidate run is recorded under it; ending it (`finishSelection`) is
 * the caller's. The pipeline's candidate stage, also run on its own by bench/tune-yoochoose.mjs.
 */
export async function selectCandidate(
  acts: PipelineSteps,
  candidates: NonNullable<PipelineParams['candidates']>,
  snapshot: DatasetSnapshot,
  ctx: { workflowId: string; parallel?: boolean },
  stage: (s: PipelineStage, info?: StageInfo) => void = () => undefined,
): Promise<{ summary: SelectionSummary; chosen: CandidateResult; results: CandidateResult[] }> {
  const shown = distinctParams(candidates);
  const progress: CandidateProgress[] = candidates.map((c, i) => ({
    name: c.name,
    params: shown[i]!,
    state: 'training',
  }));
  const report = () => stage('select', { snapshot, candidates: progress.map((p) => ({ ...p })) });
  report();
  const { parentRunId } = await acts.startSelection({
    workflowId: ctx.workflowId,
    snapshotId: snapshot.snapshotId,
    candidates,
  });
  const one = async (i: number): Promise<CandidateResult> => {
    const r = await acts.trainCandidate({
      snapshot,
      candidate: candidates[i]!,
      runId: ctx.workflowId,
      ...(parentRunId ? { parentRunId } : {}),
    });
    progress[i] = {
      ...progress[i]!,
      state: 'done',
      'val_hr@20': r.validation['hr@20'],
      'val_mrr@20': r.validation['mrr@20'],
      score: r.score,
      chosenEpochs: r.chosenEpochs,
    };
    report();
    return r;
  };
  let results: CandidateResult[];
  if (ctx.parallel) results = await Promise.all(candidates.map((_, i) => one(i)));
  else {
    results = [];
    for (let i = 0; i < candidates.length; i++) results.push(await one(i));
  }
  const chosen = pickCandidate(results);
  progress[results.indexOf(chosen)]!.state = 'chosen';
  report();
  const summary: SelectionSummary = {
    chosen: chosen.name,
    ...(parentRunId ? { parentRunId } : {}),
    candidates: results.map(({ selection: _s, params: _p, ...r }, i) => ({ ...r, params: shown[i]! })),
  };
  return { summary, chosen, results };
}
