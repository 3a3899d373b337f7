import { taskQueues, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import {
  createSkiffWorkers,
  temporalActivityHooks,
  wrapActivities,
  type WorkerRole,
} from '@skiff/orchestrator-temporal';
import { buildActivities } from './activities.js';

export interface RunningWorker {
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  roles: string[];
  shutdown(): Promise<void>;
}

/**
 * Step 1: build the real adapters. Step 2: one Temporal worker per role this process serves
 * (workflows, data, training, monitoring — config `workerRoles`), each on its own task queue.
 * Step 3: poll until shutdown().
 */
export async function startWorker(config: SkiffConfig, address: string, logger: Logger): Promise<RunningWorker> {
  const a = wrapActivities(buildActivities(config, logger, temporalActivityHooks));
  const q = taskQueues(config);
  const all: Record<string, WorkerRole> = {
    workflows: { taskQueue: config.taskQueue, workflows: true, activities: {} },
    data: {
      taskQueue: q.data,
      workflows: false,
      activities: {
        ingest: a.ingest,
        transform: a.transform,
        validate: a.validate,
        snapshot: a.snapshot,
        startSelection: a.startSelection,
        finishSelection: a.finishSelection,
        register: a.register,
        promote: a.promote,
      },
      // DuckDB allows one writer process: data stages run one at a time.
      maxConcurrentActivities: 1,
    },
    training: {
      taskQueue: q.training,
      workflows: false,
      // One at a time per process: tfjs-node already spreads one training over the cores, so a
      // second training worker process (ideally on another machine) is what adds throughput.
      activities: { train: a.train, trainCandidate: a.trainCandidate, evaluate: a.evaluate },
      maxConcurrentActivities: 1,
    },
    monitoring: {
      taskQueue: q.monitoring,
      workflows: false,
      activities: { monitor: a.monitor, alert: a.alert },
      maxConcurrentActivities: 2,
    },
  };
  const roles = config.workerRoles.map((r) => all[r]!);
  const workers = await createSkiffWorkers({
    address,
    namespace: config.temporalNamespace,
    roles,
    temporalEnv: config.temporalEnv,
  });
  logger.info('worker polling', { address, queues: roles.map((r) => r.taskQueue) });
  const done = workers.run().finally(() => workers.close());
  return {
    done,
    roles: config.workerRoles,
    async shutdown() {
      workers.shutdown();
      await done;
    },
  };
}
