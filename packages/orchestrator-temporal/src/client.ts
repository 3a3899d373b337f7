import { loadClientConnectConfig } from '@temporalio/envconfig';
import {
  Client,
  Connection,
  type ConnectionOptions,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import type { PipelineParams } from '@skiff/core';
import type { PipelineRunResult } from '@skiff/pipeline/sequence';
import { DEFAULT_TASK_QUEUE, MONITOR_SCHEDULE_ID, RETRAIN_SCHEDULE_ID } from './shared.js';
import type { MonitoringOutcome, MonitoringParams, TrainingProgress } from './workflows.js';
import { monitoringWorkflow, progressQuery, trainingPipeline } from './workflows.js';

export interface SkiffClient {
  client: Client;
  close(): Promise<void>;
}

/**
 * Connection settings: the address and namespace skiff resolved, plus TLS / API key / gRPC
 * metadata from Temporal's own environment configuration (TEMPORAL_TLS_*, TEMPORAL_API_KEY,
 * TEMPORAL_PROFILE, temporal.toml) — the same variables the `temporal` CLI reads.
 */
export function connectionConfig(address: string, namespace: string, temporalEnv: Record<string, string> = {}) {
  const fromEnv = loadClientConnectConfig({ overrideEnvVars: temporalEnv });
  return { connectionOptions: { ...fromEnv.connectionOptions, address }, namespace };
}

export async function connectClient(
  address: string,
  namespace = 'default',
  temporalEnv: Record<string, string> = {},
): Promise<SkiffClient> {
  const { connectionOptions } = connectionConfig(address, namespace, temporalEnv);
  const connection = await Connection.connect(connectionOptions as ConnectionOptions);
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}

/**
 * Business-meaningful workflow ids: `train-<dataset>-<yyyymmddThhmm>`. Two starts within the same
 * minute are the same run (see startTraining), not two runs.
 */
export function trainingWorkflowId(dataset: string, now: Date): string {
  const safe =
    dataset
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-|-$/g, '') || 'data';
  return `train-${safe}-${now.toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
}

/**
 * Starts trainingPipeline, or joins the run that already has this id: a running one is joined
 * (conflict policy USE_EXISTING); a completed one is not started again (reuse policy allows a new
 * run only after a failure) and its handle is returned.
 */
export async function startTraining(
  client: Client,
  params: PipelineParams,
  options: { workflowId: string; taskQueue?: string },
) {
  try {
    const handle = await client.workflow.start(trainingPipeline, {
      taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
      workflowId: options.workflowId,
      args: [params],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    return { handle, joined: false };
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    return { handle: client.workflow.getHandle<typeof trainingPipeline>(options.workflowId), joined: true };
  }
}

export async function runTraining(
  client: Client,
  params: PipelineParams,
  options: { workflowId: string; taskQueue?: string },
): Promise<PipelineRunResult> {
  const { handle } = await startTraining(client, params, options);
  return handle.result();
}

export interface TrainingStatus {
  status: string;
  progress: TrainingProgress | null;
  /** The running activities, with their last heartbeat (epoch, batch, loss while training). */
  activities: Array<{ type: string; attempt: number; heartbeat: unknown; worker?: string }>;
  result: PipelineRunResult | null;
}

/** Stage from the workflow's query; epoch and loss from the training activity's last heartbeat. */
export async function trainingStatus(client: Client, workflowId: string): Promise<TrainingStatus> {
  const handle = client.workflow.getHandle<typeof trainingPipeline>(workflowId);
  const desc = await handle.describe();
  const running = desc.status.name === 'RUNNING';
  const progress = running ? await handle.query(progressQuery) : null;
  const activities = (desc.raw.pendingActivities ?? []).map((a) => {
    const payloads = a.heartbeatDetails?.payloads ?? [];
    return {
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      ...(a.lastWorkerIdentity ? { worker: a.lastWorkerIdentity } : {}),
      heartbeat: payloads.length
        ? client.options.loadedDataConverter.payloadConverter.fromPayload(payloads[payloads.length - 1]!)
        : null,
    };
  });
  const result = desc.status.name === 'COMPLETED' ? await handle.result() : null;
  return { status: desc.status.name, progress, activities, result };
}

export async function runMonitoring(
  client: Client,
  params: MonitoringParams,
  options: { workflowId: string; taskQueue?: string },
): Promise<MonitoringOutcome> {
  return client.workflow.execute(monitoringWorkflow, {
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId: options.workflowId,
    args: [params],
  });
}

export interface ScheduleSettings {
  /** Monitoring interval, e.g. '1h'. */
  monitorEvery: string;
  /** Nightly retraining time (UTC). */
  retrainHour: number;
  retrainMinute: number;
  taskQueue?: string;
}

/**
 * Creates or updates (idempotently) the two schedules: periodic monitoring (retrains on drift) and
 * nightly retraining. Overlaps are skipped: a slow run is never stacked on itself.
 */
export async function applySchedules(client: Client, params: MonitoringParams, settings: ScheduleSettings) {
  const taskQueue = settings.taskQueue ?? DEFAULT_TASK_QUEUE;
  const wanted = [
    {
      scheduleId: MONITOR_SCHEDULE_ID,
      spec: { intervals: [{ every: settings.monitorEvery as `${number}h` }] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: monitoringWorkflow,
        args: [params] as [MonitoringParams],
        taskQueue,
      },
      describe: `monitoringWorkflow every ${settings.monitorEvery}`,
    },
    {
      scheduleId: RETRAIN_SCHEDULE_ID,
      spec: {
        calendars: [{ hour: settings.retrainHour, minute: settings.retrainMinute, comment: 'nightly retraining' }],
      },
      action: {
        type: 'startWorkflow' as const,
        workflowType: trainingPipeline,
        args: [params.training] as [PipelineParams],
        taskQueue,
      },
      describe: `trainingPipeline daily at ${String(settings.retrainHour).padStart(2, '0')}:${String(settings.retrainMinute).padStart(2, '0')} UTC`,
    },
  ];
  const out: Array<{ scheduleId: string; created: boolean; describe: string }> = [];
  for (const w of wanted) {
    const { describe, ...def } = w;
    try {
      await client.schedule.create({
        ...def,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      } as Parameters<Client['schedule']['create']>[0]);
      out.push({ scheduleId: w.scheduleId, created: true, describe });
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
      await client.schedule
        .getHandle(w.scheduleId)
        .update((prev) => ({ ...prev, spec: def.spec, action: def.action }) as unknown as typeof prev);
      out.push({ scheduleId: w.scheduleId, created: false, describe });
    }
  }
  return out;
}

export { WorkflowExecutionAlreadyStartedError };
