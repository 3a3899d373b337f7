import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError, type ExperimentTracker } from '@skiff/core';

/** What a tracker adapter hands the contract suite for one test. */
export interface TrackerHarness {
  tracker: ExperimentTracker;
  cleanup?(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(SkiffError);
  await expect(p).rejects.toMatchObject({ code });
}

/**
 * The behaviour every `ExperimentTracker` adapter must have. Each test uses experiment names
 * with a random suffix, so an adapter may share one backend (e.g. one MLflow server) across tests.
 */
export function describeExperimentTrackerContract(
  name: string,
  makeTracker: () => Promise<TrackerHarness>,
  options: { skip?: string | false } = {},
): void {
  const suite = options.skip ? describe.skip : describe;
  const title = options.skip
    ? `ExperimentTracker contract: ${name} (SKIPPED: ${options.skip})`
    : `ExperimentTracker contract: ${name}`;
  suite(title, () => {
    let h: TrackerHarness;
    let t: ExperimentTracker;
    let exp: string;
    beforeEach(async () => {
      h = await makeTracker();
      t = h.tracker;
      exp = `contract-${Math.random().toString(36).slice(2, 10)}`;
    });
    afterEach(async () => {
      await h?.cleanup?.();
    });

    it('starts a run with params (stored as strings) and tags', async () => {
      const run = await t.startRun({
        experiment: exp,
        name: 'first',
        tags: { team: 'recsys' },
        params: { epochs: 3, lr: 0.01, backend: 'wasm', layers: [64, 32] },
      });
      expect(run.runId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(run).toMatchObject({ experiment: exp, name: 'first', status: 'running', endedAt: null, metrics: {} });
      expect(run.params).toEqual({ epochs: '3', lr: '0.01', backend: 'wasm', layers: '[64,32]' });
      expect(run.tags['team']).toBe('recsys');
      expect(Number.isNaN(Date.parse(run.startedAt))).toBe(false);
      const got = await t.getRun(run.runId);
      expect(got).toMatchObject({
        runId: run.runId,
        experiment: exp,
        name: 'first',
        status: 'running',
        params: run.params,
        history: [],
      });
      expect(got.tags['team']).toBe('recsys');
    });

    it('adds params but never changes one', async () => {
      const run = await t.startRun({ experiment: exp, params: { epochs: 3 } });
      await t.logParams(run.runId, { lr: 0.1, epochs: 3 });
      await expectCode(t.logParams(run.runId, { epochs: 4 }), 'BAD_INPUT');
      expect((await t.getRun(run.runId)).params).toEqual({ epochs: '3', lr: '0.1' });
    });

    it('logs stepped metrics: history by step, latest value per metric', async () => {
      const run = await t.startRun({ experiment: exp });
      await t.logMetrics(run.runId, { loss: 0.9 }, 0);
      await t.logMetrics(run.runId, { loss: 0.7, 'hr@20': 0.2 }, 1);
      await t.logMetrics(run.runId, { loss: 0.5 }, 2);
      await t.logMetrics(run.runId, { 'mrr@20': 0.05 });
      await expectCode(t.logMetrics(run.runId, { loss: Number.NaN }, 3), 'BAD_INPUT');
      await expectCode(t.logMetrics(run.runId, { loss: Infinity }, 3), 'BAD_INPUT');
      await expectCode(t.logMetrics(run.runId, { loss: 1 }, -1), 'BAD_INPUT');
      const got = await t.getRun(run.runId);
      expect(got.metrics).toEqual({ loss: 0.5, 'hr@20': 0.2, 'mrr@20': 0.05 });
      expect(got.history.filter((p) => p.key === 'loss').map((p) => [p.step, p.value])).toEqual([
        [0, 0.9],
        [1, 0.7],
        [2, 0.5],
      ]);
      expect(got.history).toHaveLength(5);
      for (const p of got.history) expect(Number.isNaN(Date.parse(p.at))).toBe(false);
    });

    it('ends a run with an outcome and refuses writes afterwards', async () => {
      const ok = await t.startRun({ experiment: exp });
      await t.logMetrics(ok.runId, { loss: 0.4 }, 1);
      const ended = await t.endRun(ok.runId, { status: 'finished' });
      expect(ended).toMatchObject({ runId: ok.runId, status: 'finished', metrics: { loss: 0.4 } });
      expect(ended.endedAt).not.toBeNull();
      await expectCode(t.logMetrics(ok.runId, { loss: 0.3 }, 2), 'BAD_INPUT');
      await expectCode(t.logParams(ok.runId, { x: 1 }), 'BAD_INPUT');
      await expectCode(t.endRun(ok.runId, { status: 'failed' }), 'BAD_INPUT');
      const bad = await t.startRun({ experiment: exp });
      const failed = await t.endRun(bad.runId, { status: 'failed', error: 'TRAINING_FAILED: loss is NaN' });
      expect(failed).toMatchObject({ status: 'failed', error: 'TRAINING_FAILED: loss is NaN' });
      expect((await t.getRun(bad.runId)).error).toBe('TRAINING_FAILED: loss is NaN');
    });

    it('lists runs newest first, filtered by experiment, status and limit', async () => {
      const other = `${exp}-other`;
      const r1 = await t.startRun({ experiment: exp, name: 'r1' });
      await sleep(15);
      const r2 = await t.startRun({ experiment: exp, name: 'r2' });
      await sleep(15);
      const r3 = await t.startRun({ experiment: other, name: 'r3' });
      await t.endRun(r1.runId, { status: 'finished' });
      expect((await t.listRuns({ experiment: exp })).map((r) => r.name)).toEqual(['r2', 'r1']);
      expect((await t.listRuns({ experiment: exp, status: 'finished' })).map((r) => r.runId)).toEqual([r1.runId]);
      expect((await t.listRuns({ experiment: exp, status: 'running' })).map((r) => r.runId)).toEqual([r2.runId]);
      expect((await t.listRuns({ experiment: exp, limit: 1 })).map((r) => r.runId)).toEqual([r2.runId]);
      expect(await t.listRuns({ experiment: `${exp}-none` })).toEqual([]);
      const all = (await t.listRuns()).map((r) => r.runId);
      expect(all).toEqual(expect.arrayContaining([r1.runId, r2.runId, r3.runId]));
      expect(all.indexOf(r3.runId)).toBeLessThan(all.indexOf(r1.runId));
    });

    it('lists only the runs carrying every tag asked for', async () => {
      const parent = await t.startRun({ experiment: exp, name: 'parent' });
      const a = await t.startRun({ experiment: `${exp}-a`, tags: { parentRunId: parent.runId, role: 'candidate' } });
      await sleep(15);
      const b = await t.startRun({ experiment: `${exp}-b`, tags: { parentRunId: parent.runId, role: 'refit' } });
      await t.startRun({ experiment: `${exp}-a`, tags: { parentRunId: 'another', role: 'candidate' } });
      await t.startRun({ experiment: `${exp}-a`, tags: { role: "it's" } });
      const awkward = `say "it's" \\`;
      await t.startRun({ experiment: `${exp}-a`, tags: { role: awkward } });
      expect((await t.listRuns({ tags: { parentRunId: parent.runId } })).map((r) => r.runId)).toEqual([
        b.runId,
        a.runId,
      ]);
      expect(
        (await t.listRuns({ tags: { parentRunId: parent.runId, role: 'candidate' } })).map((r) => r.runId),
      ).toEqual([a.runId]);
      expect(
        (await t.listRuns({ experiment: `${exp}-a`, tags: { parentRunId: parent.runId }, limit: 5 })).map(
          (r) => r.runId,
        ),
      ).toEqual([a.runId]);
      expect(await t.listRuns({ tags: { parentRunId: parent.runId, role: 'none' } })).toEqual([]);
      expect((await t.listRuns({ experiment: `${exp}-a`, tags: { role: "it's" } })).map((r) => r.tags['role'])).toEqual(
        ["it's"],
      );
      expect(
        (await t.listRuns({ experiment: `${exp}-a`, tags: { role: awkward }, limit: 1 })).map((r) => r.tags['role']),
      ).toEqual([awkward]);
    });

    it('refuses unknown and malformed run ids', async () => {
      await expectCode(t.getRun('0123456789abcdef0123456789abcdef'), 'BAD_INPUT');
      for (const bad of ['../x', '', 'a/b', '.']) await expectCode(t.getRun(bad), 'BAD_INPUT');
      await expectCode(t.logMetrics('../x', { a: 1 }), 'BAD_INPUT');
      await expectCode(t.startRun({ experiment: '../x' }), 'BAD_INPUT');
    });
  });
}
