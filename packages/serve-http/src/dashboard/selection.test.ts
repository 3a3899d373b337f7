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
    // The parent (one run), then each candidate's runs and the refit's (none yet): none of the 40
    // other runs is read, and every query of the children is this parent's and bounded.
    // (The children's queries run together: in whatever order they finish.)
    expect(returned[0]!.runs).toBe(1);
    expect(
      returned
        .slice(1)
        .map((r) => r.runs)
        .sort(),
    ).toEqual([0, 1, 1]);
    for (const r of returned.slice(1))
      expect(r.filter).toMatchObject({ tags: { parentRunId: parent.runId }, limit: expect.any(Number) });
  });

  it('shows every candidate and the refit however often one candidate was retried', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-dash-selection-'));
    dirs.push(dir);
    const tracker = createFsTracker({ root: dir });
    const parent = await tracker.startRun({
      experiment: SELECTION_EXPERIMENT,
      name: 'wf-3',
      params: { candidates: 'a,b,c' },
    });
    const child = (tags: Record<string, string>) =>
      tracker.startRun({ experiment: 'gru4rec', tags: { parentRunId: parent.runId, ...tags } });
    const b = await child({ role: 'candidate', candidate: 'b' });
    await tracker.endRun(b.runId, { status: 'finished' });
    const c = await child({ role: 'candidate', candidate: 'c' });
    await tracker.endRun(c.runId, { status: 'finished' });
    // 'a' lost its worker far more often than the runs a limit shared by all would hold, all after b and c.
    for (let i = 0; i < 30; i++) {
      const lost = await child({ role: 'candidate', candidate: 'a' });
      await tracker.endRun(lost.runId, { status: 'failed', error: 'worker lost' });
    }
    const a = await child({ role: 'candidate', candidate: 'a' });
    await tracker.endRun(a.runId, { status: 'finished' });
    const refit = await child({ role: 'refit' });
    await tracker.endRun(refit.runId, { status: 'finished' });
    // A refit's rerun after its worker was lost, newest of all.
    const refitAgain = await child({ role: 'refit' });

    const { selection } = await selectionView({ tracker } as unknown as DashboardSources);
    expect(selection!.candidates.map((x) => [x.name, x.status, x.attempts])).toEqual([
      ['a', 'finished', 5],
      ['b', 'finished', 1],
      ['c', 'finished', 1],
      ['(refit)', 'running', 2],
    ]);
    expect(refitAgain.status).toBe('running');
  });
});
