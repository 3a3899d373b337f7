import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { connectionConfig } from './client.js';
import { DEFAULT_TASK_QUEUE } from './shared.js';

/**
 * The workflows module next to this file: compiled `.js` in dist, or the `.ts` source when tests
 * import src directly (Temporal's bundler transpiles TypeScript itself).
 */
const compiled = fileURLToPath(new URL('./workflows.js', import.meta.url));
export const workflowsPath = existsSync(compiled)
  ? compiled
  : fileURLToPath(new URL('./workflows.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles the workflows once per process (about 2 s). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger });
  return bundle;
}

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

export interface CreateSkiffWorkerOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  activities: Activities;
}

const WORKER_DEFAULTS = {
  // Give a running activity time to checkpoint when the worker stops (the SDK default is 0).
  shutdownGraceTime: '10s',
  shutdownForceTime: '30s',
  // Send heartbeat details at least every 2 s, so status and resume points stay fresh.
  maxHeartbeatThrottleInterval: '2s',
} as const;

/** One worker serving the workflows and all activities on one queue (tests, single-process runs). */
export async function createSkiffWorker(
  options: CreateSkiffWorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: options.activities,
    maxConcurrentActivityTaskExecutions: 2,
    ...WORKER_DEFAULTS,
  });
  return { worker, connection };
}

/** What one worker polls: a queue, whether it runs workflows, and which activities. */
export interface WorkerRole {
  taskQueue: string;
  workflows: boolean;
  activities: Activities;
  /** Training is CPU-bound on the worker's main thread: one at a time. */
  maxConcurrentActivities?: number;
}

export interface SkiffWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped. */
  run(): Promise<void>;
  shutdown(): void;
  close(): Promise<void>;
}

/** Several workers (one per queue) over one connection: the scale-out layout of docs/scaling.md. */
export async function createSkiffWorkers(options: {
  address: string;
  namespace?: string;
  roles: WorkerRole[];
  temporalEnv?: Record<string, string>;
}): Promise<SkiffWorkers> {
  const { connectionOptions } = connectionConfig(options.address, options.namespace ?? 'default', options.temporalEnv);
  const connection = await NativeConnection.connect(connectionOptions);
  const workers: Worker[] = [];
  for (const role of options.roles) {
    workers.push(
      await Worker.create({
        connection,
        namespace: options.namespace ?? 'default',
        taskQueue: role.taskQueue,
        ...(role.workflows ? { workflowBundle: await workflowBundle() } : {}),
        ...(Object.keys(role.activities).length ? { activities: role.activities } : {}),
        maxConcurrentActivityTaskExecutions: role.maxConcurrentActivities ?? 4,
        ...WORKER_DEFAULTS,
      }),
    );
  }
  return {
    workers,
    run: () => Promise.all(workers.map((w) => w.run())).then(() => undefined),
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    close: () => connection.close(),
  };
}
