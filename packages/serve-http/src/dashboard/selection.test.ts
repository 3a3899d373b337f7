import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SELECTION_EXPERIMENT } from '@skiff/core';
import { createFsTracker } from '@skiff/registry';
import { selectionView, type DashboardSources } from './data.js';

describe('dashboard: model selection', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('shows the latest selection: each candidate (its latest attempt) with epoch and validation scores, and the choice', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-dash-selection-'));
    dirs.push(dir);
    const tracker = createFsTracker({ root: dir });
    const src = { tracker } as unknown as DashboardSources;
    expect(await selectionView(src)).toEqual({ selection: null });

    const parent = await tracker.startRun({
      experiment: SELECTION_EXPERIMENT,
      name: 'wf-1',
      tags: { workflowId: 'wf-1' },
      params: { candidates: 'b,a' },
    });
    const child = async (candidate: string, role = 'candidate') =>
      tracker.startRun({
        experiment: 'gru4rec',
        name: `wf-1-${candidate}`,
        tags: { parentRunId: parent.runId, role, ...(role === 'candidate' ? { candidate } : {}) },
        params: { epochs: 4 },
      });
    const lost = await child('a');
    await tracker.endRun(lost.runId, { status: 'failed', error: 'worker lost' });
    const a = await child('a');
    await tracker.logMetrics(a.runId, { 'val_hr@20': 0.3, 'val_mrr@20': 0.1, epoch: 2 }, 2);
    const b = await child('b');
    await tracker.logMetrics(b.runId, { 'val_hr@20': 0.4, 'val_mrr@20': 0.2, epoch: 4 }, 4);
    await tracker.endRun(b.runId, { status: 'finished' });
    // A run of another parent is not shown.
    await tracker.startRun({
      experiment: 'gru4rec',
      tags: { parentRunId: 'other', role: 'candidate', candidate: 'z' },
    });

    const { selection } = await selectionView(src);
    expect(selection).toMatchObject({ workflowId: 'wf-1', status: 'running', chosen: null });
    expect(selection!.candidates.map((c) => [c.name, c.status, c.epoch, c.epochs, c.valHr20, c.attempts])).toEqual([
      ['b', 'finished', 4, 4, 0.4, 1],
      ['a', 'running', 2, 4, 0.3, 2],
    ]);

    const refit = await child('refit', 'refit');
    await tracker.endRun(refit.runId, { status: 'finished' });
    await tracker.logParams(parent.runId, { chosen: 'b' });
    await tracker.endRun(parent.runId, { status: 'finished' });
    const after = (await selectionView(src)).selection!;
    expect(after).toMatchObject({ status: 'finished', chosen: 'b' });
    expect(after.candidates.map((c) => c.name)).toEqual(['b', 'a', '(refit)']);
  });

  it("reads only the shown selection's runs, a bounded number of them, however many runs the tracker holds", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-dash-selection-'));
    dirs.push(dir);
    const tracker = createFsTracker({ root: dir });
    const returned: Array<{ filter: unknown; runs: number }> = [];
    const counting = {
      ...tracker,
      listRuns: async (filter?: Parameters<typeof tracker.listRuns>[0]) => {
        const runs = await tracker.listRuns(filter);
        returned.push({ filter, runs: runs.length });
        return runs;
      },
    };
    for (let i = 0; i < 40; i++) await tracker.startRun({ experiment: 'gru4rec', name: `other-${i}` });
    const parent = await tracker.startRun({
      experiment: SELECTION_EXPERIMENT,
      name: 'wf-2',
      params: { candidates: 'a,b' },
    });
    for (const candidate of ['a', 'b'])
      await tracker.startRun({ experiment: 'sr', tags: { parentRunId: parent.runId, role: 'candidate', candidate } });
    const { selection } = await selectionView({ tracker: counting } as unknown as DashboardSources);
    expect(selection!.candidates.map((c) => c.name)).toEqual(['a', 'b']);
    // The parent (one run) and its two candidates: none of the 40 other runs is read.
    expect(returned.map((r) => r.runs)).toEqual([1, 2]);
    expect(returned[1]!.filter).toMatchObject({ tags: { parentRunId: parent.runId }, limit: expect.any(Number) });
  });
});
