import { describe, expect, it } from 'vitest';
import { silentLogger, type ModelManifest } from '@skiff/core';
import { fakePipelineSteps, fakeSnapshot } from '@skiff/testing';
import {
  createPipelineActivities,
  decidePromotion,
  type PipelineDeps,
  type RegisterInput,
} from './training-activities.js';
import { runTrainingPipeline, type PipelineSteps } from './sequence.js';

const snapshot = fakeSnapshot('snap-x');

function fakeSteps(calls: string[], promoted: boolean): PipelineSteps {
  return fakePipelineSteps(calls, { snapshotId: 'snap-x', promoted });
}

describe('runTrainingPipeline', () => {
  it('calls every stage in order and reports the outcome', async () => {
    const calls: string[] = [];
    const stages: string[] = [];
    const r = await runTrainingPipeline(
      fakeSteps(calls, true),
      { train: {} as never, promotionMetric: 'hr@20' },
      {
        workflowId: 'wf',
        runId: 'run',
        onStage: (s, info) => {
          stages.push(s);
          if (s === 'register') expect(info.metrics).toEqual({ 'hr@20': 0.5 });
        },
      },
    );
    expect(calls).toEqual(['ingest', 'transform', 'validate', 'snapshot', 'train', 'evaluate', 'register', 'promote']);
    expect(stages.at(-1)).toBe('done');
    expect(r).toMatchObject({ modelVersion: 'v0001', promoted: true, snapshotId: 'snap-x', backend: 'wasm' });
  });

  it('stops at the first failing stage', async () => {
    const calls: string[] = [];
    const steps = fakeSteps(calls, true);
    steps.validate = async () => {
      throw new Error('checks failed');
    };
    await expect(
      runTrainingPipeline(steps, { train: {} as never, promotionMetric: 'hr@20' }, { workflowId: 'w', runId: 'r' }),
    ).rejects.toThrow('checks failed');
    expect(calls).toEqual(['ingest', 'transform']);
  });
});

describe('register', () => {
  it('is idempotent per workflow run', async () => {
    const versions: ModelManifest[] = [];
    const registry = {
      list: async () => versions,
      register: async (i: { lineage: ModelManifest['lineage'] }) => {
        const m = { version: `v000${versions.length + 1}`, lineage: i.lineage } as ModelManifest;
        versions.push(m);
        return m;
      },
    };
    const acts = createPipelineActivities({
      registry,
      logger: silentLogger,
      codeVersion: 't',
    } as unknown as PipelineDeps);
    const input = {
      name: 'm',
      train: { artifactDir: '/a', backend: 'wasm', epochs: 1, losses: [] },
      evaluation: { metrics: {}, baselines: {} },
      params: {},
      snapshot,
      workflowId: 'wf',
      runId: 'r1',
    } as unknown as RegisterInput;
    const a = await acts.register(input);
    const b = await acts.register(input);
    const c = await acts.register({ ...input, runId: 'r2' });
    expect([a.version, b.version, c.version]).toEqual(['v0001', 'v0001', 'v0002']);
  });
});

describe('decidePromotion', () => {
  const champ = { version: 'v0001', metrics: { 'hr@20': 0.4 } } as unknown as ModelManifest;
  it('promotes without a champion, or when strictly better', () => {
    expect(decidePromotion({ 'hr@20': 0.1 }, null, 'hr@20').promote).toBe(true);
    expect(decidePromotion({ 'hr@20': 0.41 }, champ, 'hr@20').promote).toBe(true);
    expect(decidePromotion({ 'hr@20': 0.4 }, champ, 'hr@20').promote).toBe(false);
    expect(decidePromotion({}, null, 'hr@20').promote).toBe(false);
  });
});
