import type { SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { createSkiffWorker, temporalActivityHooks, wrapActivities } from '@skiff/orchestrator-temporal';
import { buildActivities } from './deps.js';

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Step 1: build the real adapters. Step 2: connect to Temporal. Step 3: poll the task queue until
 * shutdown() (or SIGINT/SIGTERM in the worker process).
 */
export async function startWorker(config: SkiffConfig, address: string, logger: Logger): Promise<RunningWorker> {
  const activities = wrapActivities(buildActivities(config, logger, temporalActivityHooks));
  const { worker, connection } = await createSkiffWorker({ address, namespace: config.temporalNamespace, taskQueue: config.taskQueue, activities });
  logger.info('worker polling', { address, taskQueue: config.taskQueue });
  const done = worker.run().finally(() => connection.close());
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
