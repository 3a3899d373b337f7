import { Client, Connection, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { PipelineParams } from '@skiff/core';
import type { PipelineRunResult } from '@skiff/pipeline/sequence';
import { DEFAULT_TASK_QUEUE, MONITOR_SCHEDULE_ID } from './shared.js';
import type { MonitoringOutcome, MonitoringParams, TrainingProgress } from './workflows.js';
import { monitoringWorkflow, progressQuery, trainingPipeline } from './workflows.js';

export interface SkiffClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectClient(address: string, namespace = 'default'): Promise<SkiffClient> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}

/** Business-meaningful workflow ids: `train-<yyyymmddhhmmss>` unless given. */
export function trainingWorkflowId(now: Date): string {
  return `train-${now.toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
}

export async function runTraining(
  client: Client,
  params: PipelineParams,
  options: { workflowId: string; taskQueue?: string },
): Promise<PipelineRunResult> {
  const handle = await client.workflow.start(trainingPipeline, {
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId: options.workflowId,
    args: [params],
  });
  return handle.result();
}

export async function trainingStatus(client: Client, workflowId: string): Promise<{ status: string; progress: TrainingProgress | null }> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const progress = desc.status.name === 'RUNNING' ? await handle.query(progressQuery) : null;
  return { status: desc.status.name, progress };
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

/** Creates the hourly monitoring schedule, or updates it when it exists (idempotent). */
export async function applyMonitorSchedule(client: Client, params: MonitoringParams, options: { every?: string; taskQueue?: string } = {}) {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: monitoringWorkflow,
    args: [params] as [MonitoringParams],
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
  };
  const spec = { intervals: [{ every: options.every ?? '1h' }] };
  try {
    await client.schedule.create({
      scheduleId: MONITOR_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return { scheduleId: MONITOR_SCHEDULE_ID, created: true };
  } catch (e) {
    if ((e as Error).name !== 'ScheduleAlreadyRunning') throw e;
    await client.schedule.getHandle(MONITOR_SCHEDULE_ID).update((prev) => ({ ...prev, spec, action }));
    return { scheduleId: MONITOR_SCHEDULE_ID, created: false };
  }
}

export { WorkflowExecutionAlreadyStartedError };
