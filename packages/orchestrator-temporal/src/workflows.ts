/**
 * Temporal workflows. This file is bundled by the Temporal worker (webpack) and runs in its
 * deterministic sandbox: import only @temporalio/workflow, types, and the pure pipeline sequence.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { MonitorRunResult, PipelineParams, TaskQueues } from '@skiff/core';
import { runTrainingPipeline, type PipelineRunResult, type PipelineStage, type PipelineSteps } from '@skiff/pipeline/sequence';

export interface TrainingProgress {
  stage: PipelineStage | 'starting';
  snapshotId?: string;
}

export const progressQuery = defineQuery<TrainingProgress>('progress');

const LIGHT = { startToCloseTimeout: '10 minutes', retry: { initialInterval: '2s', maximumAttempts: 3 } } as const;
// Training heartbeats per batch: a dead worker is noticed after the heartbeat timeout, not after
// the whole start-to-close timeout, and the retry resumes from the last epoch checkpoint.
const HEAVY = { startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute', retry: { initialInterval: '2s', maximumAttempts: 3 } } as const;

/**
 * The activity proxies for one run. Light stages (data work, register, promote) go to the data
 * queue, train/evaluate to the training queue: separate worker pools can serve them. Data-quality
 * and config failures arrive as non-retryable ApplicationFailures and fail the run at once.
 */
function pipelineSteps(queues: TaskQueues | undefined): PipelineSteps {
  const light = proxyActivities<Omit<PipelineSteps, 'train' | 'evaluate'>>({ ...LIGHT, ...(queues ? { taskQueue: queues.data } : {}) });
  const heavy = proxyActivities<Pick<PipelineSteps, 'train' | 'evaluate'>>({ ...HEAVY, ...(queues ? { taskQueue: queues.training } : {}) });
  // proxyActivities returns Proxies with no own keys, so the steps are listed explicitly.
  return {
    ingest: light.ingest,
    transform: light.transform,
    validate: light.validate,
    snapshot: light.snapshot,
    train: heavy.train,
    evaluate: heavy.evaluate,
    register: light.register,
    promote: light.promote,
  };
}

/** ingest → transform → validate → snapshot → train → evaluate → register → promote. */
export async function trainingPipeline(params: PipelineParams): Promise<PipelineRunResult> {
  const progress: TrainingProgress = { stage: 'starting' };
  setHandler(progressQuery, () => progress);
  const info = workflowInfo();
  return runTrainingPipeline(pipelineSteps(params.queues), params, {
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
  const monitorActs = proxyActivities<MonitorActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '5s', maximumAttempts: 3 },
    ...(params.training.queues ? { taskQueue: params.training.queues.monitoring } : {}),
  });
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
