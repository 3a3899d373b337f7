import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, pipelineSettings } from '@skiff/config';
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
    await writeRawLogs({
      dir: path.join(dataDir, 'raw'),
      catalogue,
      sessions: 2_000,
      seed: 2,
      start: new Date(Date.UTC(2026, 0, 1)),
      days: 4,
    });
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('runs the whole pipeline inline on real adapters, registers the model and promotes it only as the gate decides', async () => {
    const config = loadConfig({}, { dataDir });
    const acts = buildActivities(config, silentLogger);
    const train = TrainParamsSchema.parse({ epochs: 1, embeddingDim: 16, hiddenUnits: 16 });
    const r = await runTrainingPipeline(
      acts,
      { train, ...pipelineSettings(config) },
      { workflowId: 'inline-test', runId: 'inline' },
    );
    expect(r.modelVersion).toBe('v0001');
    expect(r.metrics['hr@20']).toBeGreaterThan(0);
    expect(r.baselines['pop']?.['hr@20']).toBeGreaterThan(0);
    // The candidate is promoted exactly when the gate's decision names it (it must beat every baseline).
    expect(r.decision).toBeDefined();
    expect(r.promoted).toBe(r.decision!.promote === 'candidate');
    // A second run over the same files registers another version.
    const again = await runTrainingPipeline(
      acts,
      { train, ...pipelineSettings(config) },
      { workflowId: 'inline-test-2', runId: 'inline' },
    );
    expect(again.modelVersion).toBe('v0002');
    expect(codeVersion()).toMatch(/^skiff@/);
  });
});
