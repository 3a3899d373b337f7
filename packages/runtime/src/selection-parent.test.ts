import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPaths, loadConfig, pipelineSettings } from '@skiff/config';
import { SELECTION_EXPERIMENT, silentLogger, SkiffError, TrainParamsSchema, type Candidate } from '@skiff/core';
import { createPipelineActivities, runTrainingPipeline } from '@skiff/pipeline';
import { createFsTracker } from '@skiff/registry';
import { createCatalogue, writeRawLogs } from '@skiff/simulator';
import { buildPipelineDeps } from './pipeline.js';

const candidate = (name: string, o: object): Candidate => ({ name, params: TrainParamsSchema.parse(o) });

/** The tracker's parent run of a model selection, on the real adapters (DuckDB file, fs tracker, registry). */
describe('the parent run of a model selection', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-selection-parent-'));
    await writeRawLogs({
      dir: path.join(dataDir, 'raw'),
      catalogue: createCatalogue({ items: 200, seed: 4 }),
      sessions: 1_500,
      seed: 4,
      start: new Date(Date.UTC(2026, 0, 1)),
      days: 4,
    });
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('is reused only by the same selection: workflow id, snapshot and candidate set', async () => {
    const config = loadConfig({}, { dataDir: path.join(dataDir, 'ids') });
    const acts = createPipelineActivities(buildPipelineDeps(config, silentLogger));
    const tracker = createFsTracker({ root: dataPaths(config.dataDir).runs });
    const set1 = [candidate('a', { model: 'sr' }), candidate('b', { model: 'vsknn' })];
    const set2 = [candidate('a', { model: 'sr' }), candidate('b', { model: 'stan' })];
    const first = await acts.startSelection({ workflowId: 'wf-1', snapshotId: 'snap-1', candidates: set1 });
    // A retry of the same selection finds its run.
    expect(await acts.startSelection({ workflowId: 'wf-1', snapshotId: 'snap-1', candidates: set1 })).toEqual(first);
    // A rerun of the workflow id with other candidates gets its own parent; the stale one is ended.
    const other = await acts.startSelection({ workflowId: 'wf-1', snapshotId: 'snap-1', candidates: set2 });
    expect(other.parentRunId).not.toBe(first.parentRunId);
    expect(await tracker.getRun(first.parentRunId!)).toMatchObject({ status: 'killed' });
    // … and so does one over another snapshot.
    const later = await acts.startSelection({ workflowId: 'wf-1', snapshotId: 'snap-2', candidates: set2 });
    expect(later.parentRunId).not.toBe(other.parentRunId);
    // A selection that was finished is not reopened by a rerun of the same selection.
    await acts.finishSelection({ parentRunId: later.parentRunId, chosen: 'a', results: [] });
    const rerun = await acts.startSelection({ workflowId: 'wf-1', snapshotId: 'snap-2', candidates: set2 });
    expect(rerun.parentRunId).not.toBe(later.parentRunId);
    const parents = await tracker.listRuns({ experiment: SELECTION_EXPERIMENT });
    expect(parents.map((p) => p.status).sort()).toEqual(['finished', 'killed', 'killed', 'running']);
  });

  it('is reused by a retry from a workflow that an older skiff started (a parent without a candidateSet tag)', async () => {
    const config = loadConfig({}, { dataDir: path.join(dataDir, 'older') });
    const acts = createPipelineActivities(buildPipelineDeps(config, silentLogger));
    const tracker = createFsTracker({ root: dataPaths(config.dataDir).runs });
    const older = await tracker.startRun({
      experiment: SELECTION_EXPERIMENT,
      name: 'wf-old',
      tags: { workflowId: 'wf-old', snapshotId: 'snap-1', role: 'selection' },
    });
    const retried = await acts.startSelection({
      workflowId: 'wf-old',
      snapshotId: 'snap-1',
      candidates: [candidate('a', { model: 'sr' })],
    });
    expect(retried.parentRunId).toBe(older.runId);
    expect(await tracker.getRun(older.runId)).toMatchObject({ status: 'running' });
  });

  it('ends finished with the choice when the refit of the chosen candidate fails', async () => {
    const config = loadConfig({}, { dataDir });
    const deps = buildPipelineDeps(config, silentLogger);
    const trainer = deps.trainer;
    // The candidates train for real; the refit (train + validation, no selectOnly) fails.
    const acts = createPipelineActivities({
      ...deps,
      trainer: {
        ...trainer,
        train: (input) =>
          input.selectOnly
            ? trainer.train(input)
            : Promise.reject(new SkiffError('TRAINING_FAILED', 'refit failed', { retryable: false })),
      },
    });
    const candidates = [candidate('sr', { model: 'sr' }), candidate('vsknn', { model: 'vsknn' })];
    await expect(
      runTrainingPipeline(
        acts,
        { train: candidates[0]!.params, candidates, ...pipelineSettings(config) },
        { workflowId: 'wf-refit-fails', runId: 'inline' },
      ),
    ).rejects.toThrow(/refit failed/);
    const tracker = createFsTracker({ root: dataPaths(config.dataDir).runs });
    const [parent, ...more] = await tracker.listRuns({ experiment: SELECTION_EXPERIMENT });
    expect(more).toEqual([]);
    expect(parent).toMatchObject({ name: 'wf-refit-fails', status: 'finished' });
    expect(['sr', 'vsknn']).toContain(parent!.params['chosen']);
    const children = await tracker.listRuns({ tags: { parentRunId: parent!.runId } });
    expect(children.map((r) => [r.tags['role'], r.status]).sort()).toEqual([
      ['candidate', 'finished'],
      ['candidate', 'finished'],
      ['refit', 'failed'],
    ]);
  }, 120_000);
});
