import type { DatasetSnapshot, GateComparison, Metrics, PipelineParams, SplitSummary } from '@skiff/core';
import type { PipelineActivities } from './training-activities.js';
import { decideGate, type GateDecision } from './gate.js';

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
}

/** What the sequence knows so far, reported with each stage (for progress queries). */
export interface StageInfo {
  snapshot?: DatasetSnapshot;
  metrics?: Metrics;
  baselines?: Record<string, Metrics>;
}

export type PipelineStage =
  'ingest' | 'transform' | 'validate' | 'snapshot' | 'train' | 'evaluate' | 'register' | 'promote' | 'done';

/**
 * The training pipeline, in one place: ingest → transform → validate → snapshot → train → evaluate
 * → register → promote. Deterministic (no clock, no randomness, no I/O of its own), so Temporal can
 * replay it as a workflow body and the inline runner can call it directly.
 */
export async function runTrainingPipeline(
  acts: PipelineSteps,
  params: PipelineParams,
  ctx: { workflowId: string; runId: string; onStage?: (stage: PipelineStage, info: StageInfo) => void },
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
  stage('train', { snapshot });
  const train = await acts.train({ snapshot, params: params.train, runId: ctx.workflowId });
  stage('evaluate');
  // Baselines and the champion on the same test predictions, with intervals: the gate's evidence.
  const evaluation = await acts.evaluate({
    snapshot,
    artifactDir: train.artifactDir,
    metric: params.promotionMetric,
    gate: params.gate ?? {},
    candidateKind: params.train.model,
    ...(params.splitChecks ? { splitChecks: params.splitChecks } : {}),
  });
  const decision = evaluation.comparison
    ? decideGate(evaluation.comparison, params.gate?.policy ?? 'candidate', { noWinner: params.gate?.noWinner })
    : undefined;
  stage('register', { metrics: evaluation.metrics, baselines: evaluation.baselines });
  const manifest = await acts.register({
    name: params.train.model,
    train,
    evaluation,
    params: params.train,
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
  };
}
