import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@skiff/config';
import { silentLogger, TrainParamsSchema } from '@skiff/core';
import { runTrainingPipeline } from '@skiff/pipeline';
import { createCatalogue, writeRawLogs } from '@skiff/simulator';
import { buildActivities } from './activities.js';
import { codeVersion } from './pipeline.js';

/** The inline runner over the real adapters (DuckDB file, tfjs, fs registry): `skiff train --inline`. */
describe('runtime composition', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-worker-'));
    const catalogue = createCatalogue({ items: 300, seed: 2 });
    await writeRawLogs({ dir: path.join(dataDir, 'raw'), catalogue, sessions: 2_000, seed: 2, start: new Date(Date.UTC(2026, 0, 1)), days: 4 });
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('runs the whole pipeline inline on real adapters and registers + promotes a model', async () => {
    const acts = buildActivities(loadConfig({}, { dataDir }), silentLogger);
    const train = TrainParamsSchema.parse({ epochs: 1, embeddingDim: 16, hiddenUnits: 16 });
    const r = await runTrainingPipeline(acts, { train, promotionMetric: 'hr@20' }, { workflowId: 'inline-test', runId: 'inline' });
    expect(r.modelVersion).toBe('v0001');
    expect(r.promoted).toBe(true);
    expect(r.metrics['hr@20']).toBeGreaterThan(0);
    expect(r.baselines['pop']?.['hr@20']).toBeGreaterThan(0);
    // A second run loads nothing new (same files) and does not beat an equal champion.
    const again = await runTrainingPipeline(acts, { train, promotionMetric: 'hr@20' }, { workflowId: 'inline-test-2', runId: 'inline' });
    expect(again.modelVersion).toBe('v0002');
    expect(again.promoted).toBe(false);
    expect(codeVersion()).toMatch(/^skiff@/);
  });
});
