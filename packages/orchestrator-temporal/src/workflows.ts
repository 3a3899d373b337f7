/**
 * Temporal workflows. This file is bundled by the Temporal worker (webpack) and runs in its
 * deterministic sandbox: import only @temporalio/workflow, types (the activities' come from
 * @skiff/pipeline/activities, type-only), and the pure pipeline sequence.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Metrics, MonitorRunResult, PipelineParams, TaskQueues } from '@skiff/core';
import {
  runTrainingPipeline,
  type CandidateProgress,
  type PipelineRunResult,
  type PipelineStage,
  type PipelineSteps,
} from '@skiff/pipeline/sequence';
import type { AlertActivities, MonitorActivities } from '@skiff/pipeline/activities';

export interface TrainingProgress {
  stage: PipelineStage | 'starting';
  snapshotId?: string;
  /** Test metrics once evaluation finished (epoch and loss come from the training heartbeats). */
  metrics?: Metrics;
  baselines?: Record<string, Metrics>;
  /** Model selection: each candidate's state and validation scores (its epochs come from its heartbeats). */
  candidates?: CandidateProgress[];
}

export const progressQuery = defineQuery<TrainingProgress>('progress');

const LIGHT = { startToCloseTimeout: '10 minutes', retry: { initialInterval: '2s', maximumAttempts: 3 } } as const;
// Training heartbeats per batch: a dead worker is noticed after the heartbeat timeout, not after
// the whole start-to-close timeout, and the retry resumes from the last epoch checkpoint.
const HEAVY = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
} as const;

/**
 * The activity proxies for one run. Light stages (data work, register, promote) go to the data
 * queue, train/evaluate to the training queue: separate worker pools can serve them. Data-quality
 * and config failures arrive as non-retryable ApplicationFailures and fail the run at once.
 */
function pipelineSteps(queues: TaskQueues | undefined): PipelineSteps {
  const light = proxyActivities<Omit<PipelineSteps, 'train' | 'evaluate' | 'trainCandidate'>>({
    ...LIGHT,
    ...(queues ? { taskQueue: queues.data } : {}),
  });
  const heavy = proxyActivities<Pick<PipelineSteps, 'train' | 'evaluate' | 'trainCandidate'>>({
    ...HEAVY,
    ...(queues ? { taskQueue: queues.training } : {}),
  });
  // proxyActivities returns Proxies with no own keys, so the steps are listed explicitly.
  return {
    ingest: light.ingest,
    transform: light.transform,
    validate: light.validate,
    snapshot: light.snapshot,
    startSelection: light.startSelection,
    // One activity per candidate: each is scheduled on its own, so idle training workers take them in parallel.
    trainCandidate: heavy.trainCandidate,
    finishSelection: light.finishSelection,
    train: heavy.train,
    evaluate: heavy.evaluate,
    register: light.register,
    promote: light.promote,
  };
}

/** ingest → transform → validate → snapshot → (select over candidates →) train → evaluate → register → promote. */
export async function trainingPipeline(params: PipelineParams): Promise<PipelineRunResult> {
  const progress: TrainingProgress = { stage: 'starting' };
  setHandler(progressQuery, () => progress);
  const info = workflowInfo();
  return runTrainingPipeline(pipelineSteps(params.queues), params, {
    workflowId: info.workflowId,
    runId: info.runId,
    parallel: true,
    patched: (changeId) => patched(changeId),
    onStage: (stage, info) => {
      progress.stage = stage;
      if (info.snapshot) progress.snapshotId = info.snapshot.snapshotId;
      if (info.metrics) progress.metrics = info.metrics;
      if (info.baselines) progress.baselines = info.baselines;
      if (info.candidates) progress.candidates = info.candidates;
    },
  });
}

export interface MonitoringParams {
  /** Retrain when the dataset drifts or online quality drops (closed loop). */
  retrainOnDrift: boolean;
  training: PipelineParams;
  windowHours?: number;
  /**
   * Id of the retraining run started on drift. One id per dataset means at most one drift-started
   * retraining at a time: while it runs, later drift verdicts do not start another.
   */
  retrainWorkflowId?: string;
  /** Send an alert on drift or a quality drop (default true). */
  alert?: boolean;
}

export interface MonitoringOutcome {
  report: MonitorRunResult;
  retrainWorkflowId: string | null;
  /** Why no retraining was started although drift was found (e.g. one is already running). */
  retrainSkipped: string | null;
  alerted: boolean;
  /** What started the retraining/alert: dataset drift, a quality drop, both, or nothing. */
  trigger?: 'drift' | 'quality-drop' | 'drift+quality-drop' | null;
}

/**
 * One monitoring run. On dataset drift or a quality drop (online metric below the served
 * version's offline one by more than the configured share): start trainingPipeline as an abandoned child (it outlives
 * this run) unless one is already running, then alert. A failed alert never fails the run.
 */
export async function monitoringWorkflow(params: MonitoringParams): Promise<MonitoringOutcome> {
  const queue = params.training.queues ? { taskQueue: params.training.queues.monitoring } : {};
  const monitorActs = proxyActivities<MonitorActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '5s', maximumAttempts: 3 },
    ...queue,
  });
  const alertActs = proxyActivities<AlertActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
    ...queue,
  });
  const report = await monitorActs.monitor({ ...(params.windowHours ? { windowHours: params.windowHours } : {}) });
  const qualityDrop = report.quality?.dropped === true;
  if (!report.datasetDrift && !qualityDrop)
    return { report, retrainWorkflowId: null, retrainSkipped: null, alerted: false, trigger: null };
  if (report.currentRows === 0)
    throw ApplicationFailure.nonRetryable('drift verdict without current data', 'BAD_INPUT');
  const trigger =
    report.datasetDrift && qualityDrop ? 'drift+quality-drop' : report.datasetDrift ? 'drift' : 'quality-drop';

  let retrainWorkflowId: string | null = null;
  let retrainSkipped: string | null = params.retrainOnDrift ? null : 'retrainOnDrift is off';
  if (params.retrainOnDrift) {
    const id = params.retrainWorkflowId ?? 'retrain-on-drift';
    try {
      await startChild(trainingPipeline, { workflowId: id, args: [params.training], parentClosePolicy: 'ABANDON' });
      retrainWorkflowId = id;
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      retrainSkipped = `retraining ${id} is already running`;
    }
  }
  let alerted = false;
  if (params.alert !== false) {
    try {
      alerted = (
        await alertActs.alert({
          kind: report.datasetDrift ? 'drift' : 'quality-drop',
          monitorWorkflowId: workflowInfo().workflowId,
          modelVersion: report.modelVersion,
          share: report.share,
          driftShare: report.driftShare,
          driftedColumns: report.columns.filter((c) => c.drifted).map((c) => c.column),
          reportPath: report.htmlPath,
          retrainWorkflowId,
          qualityDrop:
            qualityDrop && report.quality
              ? {
                  metric: report.quality.metric,
                  online: report.quality.online,
                  offline: report.quality.offline,
                  relativeDrop: report.quality.relativeDrop,
                  reason: report.quality.reason,
                }
              : null,
        })
      ).delivered;
    } catch {
      // Retried by policy, then given up: an unreachable webhook must not stop monitoring.
    }
  }
  return { report, retrainWorkflowId, retrainSkipped, alerted, trigger };
}
