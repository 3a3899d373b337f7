/**
 * Temporal workflows. This file is bundled by the Temporal worker (webpack) and runs in its
 * deterministic sandbox: import only @temporalio/workflow, types, and the pure pipeline sequence.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { MonitorRunResult, PipelineParams } from '@skiff/core';
import { runTrainingPipeline, type PipelineRunResult, type PipelineStage, type PipelineSteps } from '@skiff/pipeline/sequence';

export interface TrainingProgress {
  stage: PipelineStage | 'starting';
  snapshotId?: string;
}

export const progressQuery = defineQuery<TrainingProgress>('progress');

// Light stages: short timeouts, a few retries. Data-quality failures are non-retryable
// ApplicationFailures raised by the activity wrapper, so they fail the run at once.
const light = proxyActivities<Omit<PipelineSteps, 'train' | 'evaluate'>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

// Training heartbeats per batch; a dead worker is noticed after 2 minutes, not after the whole timeout,
// and a retry resumes from the last heartbeated epoch.
const heavy = proxyActivities<Pick<PipelineSteps, 'train' | 'evaluate'>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', maximumAttempts: 2 },
});

/** ingest → transform → validate → snapshot → train → evaluate → register → promote. */
export async function trainingPipeline(params: PipelineParams): Promise<PipelineRunResult> {
  const progress: TrainingProgress = { stage: 'starting' };
  setHandler(progressQuery, () => progress);
  const info = workflowInfo();
  // proxyActivities returns Proxies with no own keys, so the steps are listed explicitly.
  const steps: PipelineSteps = {
    ingest: light.ingest,
    transform: light.transform,
    validate: light.validate,
    snapshot: light.snapshot,
    train: heavy.train,
    evaluate: heavy.evaluate,
    register: light.register,
    promote: light.promote,
  };
  return runTrainingPipeline(steps, params, {
    workflowId: info.workflowId,
    runId: info.runId,
    onStage: (stage, snapshot) => {
      progress.stage = stage;
      if (snapshot) progress.snapshotId = snapshot.snapshotId;
    },
  });
}

export interface MonitorActivities {
  monitor(input: { windowHours?: number }): Promise<MonitorRunResult>;
}

const monitorActs = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

export interface MonitoringParams {
  /** Retrain when the dataset drifts (closed loop). */
  retrainOnDrift: boolean;
  training: PipelineParams;
  windowHours?: number;
}

export interface MonitoringOutcome {
  report: MonitorRunResult;
  retrainWorkflowId: string | null;
}

/** One monitoring run; on dataset drift it starts trainingPipeline as an abandoned child (it outlives this run). */
export async function monitoringWorkflow(params: MonitoringParams): Promise<MonitoringOutcome> {
  const report = await monitorActs.monitor({ ...(params.windowHours ? { windowHours: params.windowHours } : {}) });
  if (!report.datasetDrift || !params.retrainOnDrift) return { report, retrainWorkflowId: null };
  if (report.currentRows === 0) throw ApplicationFailure.nonRetryable('drift verdict without current data', 'BAD_INPUT');
  const childId = `retrain-${workflowInfo().workflowId}`;
  await startChild(trainingPipeline, {
    workflowId: childId,
    args: [params.training],
    parentClosePolicy: 'ABANDON',
  });
  return { report, retrainWorkflowId: childId };
}
