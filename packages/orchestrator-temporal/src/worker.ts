import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from './shared.js';

/**
 * The workflows module next to this file: compiled `.js` in dist, or the `.ts` source when tests
 * import src directly (Temporal's bundler transpiles TypeScript itself).
 */
const compiled = fileURLToPath(new URL('./workflows.js', import.meta.url));
export const workflowsPath = existsSync(compiled) ? compiled : fileURLToPath(new URL('./workflows.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles the workflows once per process (about 2 s). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger });
  return bundle;
}

export interface CreateSkiffWorkerOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  activities: Record<string, (...args: never[]) => Promise<unknown>>;
}

/** A worker running skiff's workflows and the given activities; the caller owns run/shutdown. */
export async function createSkiffWorker(options: CreateSkiffWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: options.activities,
    // Training runs on the worker's main thread: one heavy activity at a time on a 2-core box.
    maxConcurrentActivityTaskExecutions: 2,
    // Give a running activity time to checkpoint when the worker stops (the default is 0).
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
  });
  return { worker, connection };
}
