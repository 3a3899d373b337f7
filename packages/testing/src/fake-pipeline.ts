import type {
  Candidate,
  CheckResult,
  DatasetSnapshot,
  EvaluateOutput,
  LoadResult,
  ModelManifest,
  TrainOutput,
  TransformResult,
} from '@skiff/core';

export interface FakePipelineOptions {
  modelVersion?: string;
  snapshotId?: string;
  promoted?: boolean;
  metrics?: Record<string, number>;
  /** Validation HR@20 of each candidate of a model selection by name (default 0.1); MRR@20 is half of it. */
  candidateScores?: Record<string, number>;
}

/** A dataset snapshot for fakes and unit tests (files need not exist). */
export function fakeSnapshot(snapshotId = 'snap-test'): DatasetSnapshot {
  return {
    snapshotId,
    loadIds: ['load-1'],
    createdAt: '',
    dir: '/s',
    files: { train: '/s/train.json', validation: '/s/validation.json', test: '/s/test.json' },
    counts: { train: 1, validation: 1, test: 1, items: 1 },
    splitTime: { validationStart: '', testStart: '' },
  };
}

/**
 * Fake stages of the training pipeline that record their calls, for tests of the code around the
 * stages (the sequence, the Temporal workflows, the monitoring loop). The real stages run in the
 * worker and end-to-end tests. Override any stage by spreading: `{ ...fakePipelineSteps(calls), validate }`.
 */
export function fakePipelineSteps(calls: string[], options: FakePipelineOptions = {}) {
  const { modelVersion = 'v0001', snapshotId = 'snap-test', promoted = true, metrics = { 'hr@20': 0.5 } } = options;
  const rec =
    <T>(name: string, value: T) =>
    async (..._args: unknown[]): Promise<T> => {
      calls.push(name);
      return value;
    };
  return {
    ingest: rec<LoadResult>('ingest', { loadId: 'load-1', files: [], rows: 3, loaded: 3, quarantined: 0, skipped: 0 }),
    transform: rec<TransformResult>('transform', { models: [] }),
    validate: rec<CheckResult>('validate', { passed: true, checks: [] }),
    snapshot: rec<DatasetSnapshot>('snapshot', fakeSnapshot(snapshotId)),
    startSelection: rec('startSelection', { parentRunId: 'parent-1' as string | null }),
    trainCandidate: async (input: { candidate: Candidate }) => {
      calls.push(`trainCandidate:${input.candidate.name}`);
      const hr = options.candidateScores?.[input.candidate.name] ?? 0.1;
      const point = { epoch: 2, 'hr@20': hr, 'mrr@20': hr / 2 };
      return {
        name: input.candidate.name,
        params: input.candidate.params,
        validation: { 'hr@20': hr, 'mrr@20': hr / 2 },
        score: hr * 1.5,
        chosenEpochs: 2,
        epochsRun: 3,
        stoppedEarly: true,
        trainSeconds: 1,
        selection: {
          epochsRun: 3,
          chosenEpochs: 2,
          stoppedEarly: true,
          losses: [1, 0.9, 0.8],
          validation: [point],
          trainSessions: 1,
          validationSessions: 1,
        },
      };
    },
    finishSelection: rec('finishSelection', undefined as void),
    train: rec<TrainOutput>('train', {
      artifactDir: '/a',
      files: [],
      backend: 'wasm',
      epochs: 1,
      losses: [1],
      samplesPerSecond: 1,
      trainSeconds: 1,
    }),
    evaluate: rec<EvaluateOutput>('evaluate', { metrics, baselines: { pop: { 'hr@20': 0.1 } }, predictions: 10 }),
    register: rec<ModelManifest>('register', { version: modelVersion } as ModelManifest),
    promote: rec('promote', {
      promoted,
      version: modelVersion,
      previous: null as string | null,
      reason: promoted ? 'no champion' : 'not better',
    }),
  };
}
