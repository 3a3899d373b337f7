import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SELECTION_EXPERIMENT } from '@skiff/core';
import { startTraining, trainingStatus } from '@skiff/orchestrator-temporal';
import { createFsRegistry, createFsTracker } from '@skiff/registry';
import { readTrainingConfig } from './commands/model.js';
import { startWorkerFleet, type WorkerFleet } from './test-helpers/worker-fleet.js';

/**
 * Model selection through Temporal with two worker processes: four candidates train as separate
 * activities on the training queue, spread over both workers; one worker is SIGKILLed while
 * candidates are training, and the run still completes (the lost candidate is retried on the other
 * worker after the heartbeat timeout and resumes from its checkpoint), refits the chosen candidate
 * and gates it, with one parent run in the tracker over the candidate runs and the refit.
 */
describe('model selection fanned out over two workers, one killed mid-run', () => {
  let fleet: WorkerFleet;
  let dataDir: string;
  let sc: WorkerFleet['sc'];
  let startWorker: WorkerFleet['startWorker'];

  beforeAll(async () => {
    fleet = await startWorkerFleet({ prefix: 'skiff-fanout-', items: 400, sessions: 2_000, seed: 5 });
    ({ dataDir, sc, startWorker } = fleet);
  }, 120_000);

  afterAll(async () => {
    await fleet?.close();
  });

  it('completes with every candidate scored, the best refitted and gated, under one parent run', async () => {
    const configFile = path.join(dataDir, 'candidates.json');
    await writeFile(
      configFile,
      JSON.stringify({
        model: 'gru4rec',
        embeddingDim: 16,
        maxLen: 8,
        batchSize: 64,
        epochs: 5,
        patience: 1,
        learningRate: 0.01,
        seed: 3,
        candidates: [
          { name: 'h16', hiddenUnits: 16 },
          { name: 'h32', hiddenUnits: 32 },
          { name: 'h48', hiddenUnits: 48 },
          { name: 'h64', hiddenUnits: 64 },
        ],
      }),
    );
    // The product's config path: the same reader `skiff pipeline run --config` uses.
    const { train, candidates } = await readTrainingConfig(configFile);
    expect(candidates?.map((c) => c.name)).toEqual(['h16', 'h32', 'h48', 'h64']);
    const killed = startWorker();
    startWorker();
    const workflowId = 'train-fanout-1';
    const queues = { data: 'skiff-data', training: 'skiff-training', monitoring: 'skiff-monitoring' };
    const { handle } = await startTraining(
      sc.client,
      { train, candidates: candidates!, promotionMetric: 'hr@20', gate: { policy: 'promote-best' }, queues },
      { workflowId, taskQueue: 'skiff-pipeline' },
    );

    // Wait until two candidates are training at once (one per worker) with a checkpointed epoch,
    // looking at what `skiff pipeline status` shows: the candidates' states and their heartbeats.
    const checkpoint = (name: string) =>
      path.join(dataDir, 'artifacts', `${workflowId}-candidates`, name, '.select', '.checkpoint', 'progress.json');
    let seen: Awaited<ReturnType<typeof trainingStatus>> | undefined;
    let training: string[] = [];
    for (let i = 0; i < 2400 && training.length < 2; i++) {
      const s = await trainingStatus(sc.client, workflowId);
      const beating = s.activities
        .filter((a) => a.type === 'trainCandidate')
        .map((a) => (a.heartbeat as { candidate?: string } | null)?.candidate)
        .filter((c): c is string => typeof c === 'string');
      const checkpointed = await Promise.all(
        beating.map((c) =>
          readFile(checkpoint(c), 'utf8').then(
            () => c,
            () => null,
          ),
        ),
      );
      training = checkpointed.filter((c): c is string => c !== null);
      if (training.length >= 2) seen = s;
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect(training.length).toBe(2);
    expect(seen!.progress?.stage).toBe('select');
    expect(seen!.progress?.candidates?.map((c) => c.name)).toEqual(['h16', 'h32', 'h48', 'h64']);
    expect(seen!.progress?.candidates?.[0]?.params).toEqual({ hiddenUnits: 16 });

    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));

    const result = await handle.result();
    // Every candidate scored on validation, the best one chosen and refitted on its chosen epochs.
    const scored = result.candidates!.candidates;
    expect(scored.map((c) => c.name)).toEqual(['h16', 'h32', 'h48', 'h64']);
    for (const c of scored) expect(c.validation['hr@20']).toBeGreaterThan(0);
    const best = scored.reduce((b, c) => (c.score > b.score ? c : b));
    expect(result.candidates!.chosen).toBe(best.name);
    expect(result.selection?.chosenEpochs).toBe(best.chosenEpochs);
    // Gated and registered: the decision was made on the test split against the baselines.
    expect(result.decision).toBeDefined();
    const { manifest } = await createFsRegistry({ root: path.join(dataDir, 'registry') }).get(result.modelVersion);
    expect(manifest.params['hiddenUnits']).toBe(Number(best.name.slice(1)));
    expect(manifest.params['epochsRun']).toBe(best.chosenEpochs);
    expect(manifest.lineage.workflowId).toBe(workflowId);

    // Two candidates were training at once, one on each worker process.
    const onWorkers = new Set(
      seen!.activities.filter((a) => a.type === 'trainCandidate' && a.worker !== undefined).map((a) => a.worker),
    );
    expect(onWorkers.size).toBe(2);
    // The killed worker's candidate was attempted again (history records a retried activity's last attempt).
    const history = await handle.fetchHistory();
    const scheduled = new Map<string, string>();
    for (const e of history.events ?? [])
      if (e.activityTaskScheduledEventAttributes?.activityType?.name)
        scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name);
    const started = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes)
      .filter((a) => a && scheduled.get(String(a.scheduledEventId)) === 'trainCandidate');
    expect(started).toHaveLength(4);
    expect(started.some((a) => (a!.attempt ?? 1) > 1)).toBe(true);

    // One parent run over the four candidates and the refit.
    const tracker = createFsTracker({ root: path.join(dataDir, 'runs') });
    const parents = await tracker.listRuns({ experiment: SELECTION_EXPERIMENT });
    expect(parents).toHaveLength(1);
    expect(parents[0]).toMatchObject({ name: workflowId, status: 'finished', params: { chosen: best.name } });
    const children = (await tracker.listRuns({ experiment: 'gru4rec' })).filter(
      (r) => r.tags['parentRunId'] === parents[0]!.runId,
    );
    const finished = children.filter((r) => r.status === 'finished');
    expect(finished.filter((r) => r.tags['role'] === 'candidate').map((r) => r.tags['candidate'])).toEqual(
      expect.arrayContaining(['h16', 'h32', 'h48', 'h64']),
    );
    expect(finished.filter((r) => r.tags['role'] === 'refit')).toHaveLength(1);
  }, 600_000);
});
