import type { DatasetSnapshot, Metrics, PipelineParams } from '@skiff/core';
import type { PipelineActivities } from './training-activities.js';

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
}

/** What the sequence knows so far, reported with each stage (for progress queries). */
export interface StageInfo {
  snapshot?: DatasetSnapshot;
  metrics?: Metrics;
  baselines?: Record<string, Metrics>;
}

export type PipelineStage = 'ingest' | 'transform' | 'validate' | 'snapshot' | 'train' | 'evaluate' | 'register' | 'promote' | 'done';

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
  await acts.transform();
  stage('validate');
  await acts.validate();
  stage('snapshot');
  const snapshot = await acts.snapshot();
  stage('train', { snapshot });
  const train = await acts.train({ snapshot, params: params.train, runId: ctx.workflowId });
  stage('evaluate');
  const evaluation = await acts.evaluate({ snapshot, artifactDir: train.artifactDir });
  stage('register', { metrics: evaluation.metrics, baselines: evaluation.baselines });
  const manifest = await acts.register({
    name: params.train.model,
    train,
    evaluation,
    params: params.train,
    snapshot,
    workflowId: ctx.workflowId,
    runId: ctx.runId,
  });
  stage('promote');
  const promotion = await acts.promote({ version: manifest.version, metric: params.promotionMetric });
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
  };
}
