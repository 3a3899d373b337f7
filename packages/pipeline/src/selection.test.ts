import { describe, expect, it } from 'vitest';
import { TrainParamsSchema, type Candidate } from '@skiff/core';
import { fakePipelineSteps } from '@skiff/testing';
import { drawTrials, parseTrainingConfig } from './candidates.js';
import { FINISH_SELECTION_BEFORE_REFIT, runTrainingPipeline, type PipelineSteps, type StageInfo } from './sequence.js';
import { pickCandidate, type CandidateResult } from './selection.js';

const params = (o: object = {}) => TrainParamsSchema.parse({ patience: 2, epochs: 6, ...o });
const candidates: Candidate[] = [
  { name: 'small', params: params({ hiddenUnits: 32 }) },
  { name: 'wide', params: params({ hiddenUnits: 128 }) },
  { name: 'sasrec', params: params({ model: 'sasrec' }) },
];

describe('model selection in the pipeline sequence', () => {
  for (const parallel of [false, true])
    it(`trains every candidate, refits the best on its chosen epochs and gates it (${parallel ? 'parallel' : 'one after another'})`, async () => {
      const calls: string[] = [];
      const steps: PipelineSteps = fakePipelineSteps(calls, {
        candidateScores: { small: 0.2, wide: 0.4, sasrec: 0.3 },
      });
      let refit: Parameters<PipelineSteps['train']>[0] | undefined;
      const train = steps.train;
      steps.train = (input) => {
        refit = input;
        return train(input);
      };
      const shown: StageInfo[] = [];
      const r = await runTrainingPipeline(
        steps,
        { train: params(), candidates, promotionMetric: 'hr@20' },
        { workflowId: 'wf', runId: 'run', parallel, onStage: (s, info) => s === 'select' && shown.push(info) },
      );
      expect(calls).toEqual([
        'ingest',
        'transform',
        'validate',
        'snapshot',
        'startSelection',
        'trainCandidate:small',
        'trainCandidate:wide',
        'trainCandidate:sasrec',
        'finishSelection',
        'train',
        'evaluate',
        'register',
        'promote',
      ]);
      // The refit: the chosen candidate's params with its chosen epochs, no early stopping, under the parent run.
      expect(refit).toMatchObject({ params: { hiddenUnits: 128, epochs: 2, patience: 0 }, parentRunId: 'parent-1' });
      expect(r.candidates?.chosen).toBe('wide');
      expect(r.candidates?.candidates.map((c) => [c.name, c.validation['hr@20']])).toEqual([
        ['small', 0.2],
        ['wide', 0.4],
        ['sasrec', 0.3],
      ]);
      // The status shows only what tells the candidates apart, and every candidate's state.
      expect(shown[0]!.candidates!.map((c) => c.params)).toEqual([
        { model: 'gru4rec', hiddenUnits: 32 },
        { model: 'gru4rec', hiddenUnits: 128 },
        { model: 'sasrec', hiddenUnits: 100 },
      ]);
      expect(shown[0]!.candidates!.every((c) => c.state === 'training')).toBe(true);
      expect(shown.at(-1)!.candidates!.map((c) => c.state)).toEqual(['done', 'chosen', 'done']);
      expect(r.selection).toMatchObject({ chosenEpochs: 2, epochsRun: 3 });
    });

  it('ends the selection before the refit, so that a failed refit leaves no parent run open', async () => {
    const calls: string[] = [];
    const steps: PipelineSteps = {
      ...fakePipelineSteps(calls, { candidateScores: { small: 0.2, wide: 0.4, sasrec: 0.3 } }),
      train: async () => {
        calls.push('train');
        throw new Error('refit: out of memory');
      },
    };
    let finished: Parameters<PipelineSteps['finishSelection']>[0] | undefined;
    const finish = steps.finishSelection;
    steps.finishSelection = (input) => {
      finished = input;
      return finish(input);
    };
    await expect(
      runTrainingPipeline(
        steps,
        { train: params(), candidates, promotionMetric: 'hr@20' },
        { workflowId: 'wf', runId: 'run', parallel: true },
      ),
    ).rejects.toThrow(/out of memory/);
    expect(calls.slice(-2)).toEqual(['finishSelection', 'train']);
    expect(finished).toMatchObject({ parentRunId: 'parent-1', chosen: 'wide' });
  });

  it('keeps the older order (refit, then end the selection) for a run that replays it', async () => {
    const calls: string[] = [];
    const asked: string[] = [];
    await runTrainingPipeline(
      fakePipelineSteps(calls),
      { train: params(), candidates, promotionMetric: 'hr@20' },
      {
        workflowId: 'wf',
        runId: 'run',
        patched: (id) => {
          asked.push(id);
          return false;
        },
      },
    );
    expect(asked).toEqual([FINISH_SELECTION_BEFORE_REFIT]);
    expect(calls.slice(-5)).toEqual(['train', 'finishSelection', 'evaluate', 'register', 'promote']);
  });

  it('keeps the single-model path when there are fewer than two candidates', async () => {
    const calls: string[] = [];
    await runTrainingPipeline(
      fakePipelineSteps(calls),
      { train: params(), candidates: [candidates[0]!], promotionMetric: 'hr@20' },
      { workflowId: 'wf', runId: 'run', parallel: true },
    );
    expect(calls).toEqual(['ingest', 'transform', 'validate', 'snapshot', 'train', 'evaluate', 'register', 'promote']);
  });

  it('picks the earlier candidate on equal scores, whatever order they finished in', () => {
    const r = (name: string, score: number) => ({ name, score }) as CandidateResult;
    expect(pickCandidate([r('a', 0.5), r('b', 0.5), r('c', 0.4)]).name).toBe('a');
    expect(pickCandidate([r('a', 0.4), r('b', 0.5), r('c', 0.5)]).name).toBe('b');
  });
});

describe('parseTrainingConfig', () => {
  it('reads a single-model config as before', () => {
    const c = parseTrainingConfig({ model: 'gru4rec', epochs: 3, seed: 7, $comment: 'x' }, 'f.json');
    expect(c.candidates).toBeUndefined();
    expect(c.train).toEqual(TrainParamsSchema.parse({ epochs: 3, seed: 7 }));
  });

  it('builds candidates from the base params, with flags overriding every one', () => {
    const c = parseTrainingConfig(
      { model: 'gru4rec', hiddenUnits: 64, candidates: [{ name: 'a' }, { hiddenUnits: 100 }, { model: 'vsknn' }] },
      'f.json',
      { epochs: 2 },
    );
    expect(c.candidates!.map((x) => [x.name, x.params.model, x.params.hiddenUnits, x.params.epochs])).toEqual([
      ['a', 'gru4rec', 64, 2],
      ['gru4rec-1', 'gru4rec', 100, 2],
      ['vsknn-2', 'vsknn', 64, 2],
    ]);
  });

  it('treats a list of one candidate as that model alone', () => {
    const c = parseTrainingConfig({ epochs: 3, candidates: [{ hiddenUnits: 10 }] }, 'f.json');
    expect(c.candidates).toBeUndefined();
    expect(c.train.hiddenUnits).toBe(10);
  });

  it('draws a seeded search: the same seed gives the same distinct trials, whatever the key order', () => {
    const space = { hiddenUnits: [32, 64, 128], learningRate: [0.001, 0.005] };
    const a = drawTrials({ seed: 3, trials: 4, space });
    const b = drawTrials({
      seed: 3,
      trials: 4,
      space: { learningRate: space.learningRate, hiddenUnits: space.hiddenUnits },
    });
    expect(a).toEqual(b);
    expect(new Set(a.map((t) => JSON.stringify(t))).size).toBe(4);
    expect(drawTrials({ seed: 3, trials: 40, space })).toHaveLength(6);
    const c = parseTrainingConfig({ epochs: 2, search: { seed: 3, trials: 4, space } }, 'f.json');
    expect(c.candidates!.map((x) => x.name)).toEqual(['trial-0', 'trial-1', 'trial-2', 'trial-3']);
    expect(
      c.candidates!.map((x) => ({ hiddenUnits: x.params.hiddenUnits, learningRate: x.params.learningRate })),
    ).toEqual(a);
  });

  it('refuses bad candidate lists with CONFIG_INVALID and the reason', () => {
    const bad = (raw: unknown) => {
      try {
        parseTrainingConfig(raw, 'f.json');
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(bad({ candidates: [{ name: 'a' }, { name: 'a' }] })).toMatch(/CONFIG_INVALID: .*"a" is used twice/);
    expect(bad({ candidates: [{}, { hiddenUnits: -1 }] })).toMatch(/CONFIG_INVALID: .*candidate 1: hiddenUnits/);
    expect(bad({ candidates: [], search: { seed: 1, trials: 2, space: { a: [1] } } })).toMatch(/either/);
    expect(bad({ search: { seed: 1, trials: 0, space: { hiddenUnits: [1] } } })).toMatch(/"search" must be/);
    expect(bad({ candidates: [{ name: 'a b' }, {}] })).toMatch(/name must be/);
    // A name is a folder under artifacts/: never the folder itself or its parent.
    expect(bad({ candidates: [{ name: '..' }, {}] })).toMatch(/name must be/);
    expect(bad({ candidates: [{ name: '.' }, {}] })).toMatch(/name must be/);
    expect(bad([1])).toMatch(/JSON object/);
  });
});
