import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainParamsSchema } from '@skiff/core';
import { startTraining } from '@skiff/orchestrator-temporal';
import { createFsRegistry } from '@skiff/registry';
import { startWorkerFleet, type WorkerFleet } from './test-helpers/worker-fleet.js';

/**
 * A worker process is SIGKILLed in the middle of training; a new worker picks the run up after the
 * heartbeat timeout and the training activity resumes from the last epoch checkpoint.
 */
describe('durability: a worker killed during training', () => {
  let fleet: WorkerFleet;
  let dataDir: string;
  let sc: WorkerFleet['sc'];
  let startWorker: WorkerFleet['startWorker'];

  beforeAll(async () => {
    fleet = await startWorkerFleet({ prefix: 'skiff-durable-', items: 600, sessions: 3_000, seed: 4 });
    ({ dataDir, sc, startWorker } = fleet);
  }, 120_000);

  afterAll(async () => {
    await fleet?.close();
  });

  it('finishes the run with a registered version, redoing at most the interrupted epoch', async () => {
    const first = startWorker();
    const workflowId = 'train-durable-1';
    const train = TrainParamsSchema.parse({ epochs: 6, embeddingDim: 32, hiddenUnits: 32, batchSize: 64, maxLen: 8 });
    const queues = { data: 'skiff-data', training: 'skiff-training', monitoring: 'skiff-monitoring' };
    const { handle } = await startTraining(
      sc.client,
      { train, promotionMetric: 'hr@20', queues },
      { workflowId, taskQueue: 'skiff-pipeline' },
    );

    // Kill the worker once two epochs are checkpointed.
    const progress = path.join(dataDir, 'artifacts', workflowId, '.checkpoint', 'progress.json');
    let done = 0;
    for (let i = 0; i < 1200 && done < 2; i++) {
      done = await readFile(progress, 'utf8').then(
        (t) => (JSON.parse(t) as { epochsDone: number }).epochsDone,
        () => 0,
      );
      if (done < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(done).toBeGreaterThanOrEqual(2);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    startWorker();

    const result = await handle.result();
    const { manifest } = await createFsRegistry({ root: path.join(dataDir, 'registry') }).get(result.modelVersion);
    expect(manifest.lineage.workflowId).toBe(workflowId);
    // The retry resumed from the checkpoint the killed worker left: at most one epoch redone.
    expect(manifest.params['resumedFromEpoch']).toBeGreaterThanOrEqual(done);
    expect(manifest.params['epochsRun']).toBe(6);
    const history = await handle.fetchHistory();
    const trainAttempts = history.events!.filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(trainAttempts.length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
