import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrainingConfig, readTrainParams, resolveTrainConfig, shippedConfigNames } from './commands/model.js';
import { DEMO_TRAIN_CONFIG } from './commands/demo.js';

describe('training configs (--config)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('names the shipped configurations, the tuned ones included', () => {
    expect(shippedConfigNames()).toEqual(
      expect.arrayContaining(['gru4rec', 'gru4rec-yoochoose.v1', 'sasrec-yoochoose.v1', 'yoochoose-best']),
    );
  });

  it('reads a shipped configuration by name: the tuned GRU4Rec, its epochs capping early stopping on validation', async () => {
    const p = await readTrainParams('gru4rec-yoochoose.v1');
    expect(p).toMatchObject({ model: 'gru4rec', hiddenUnits: 200, embeddingDim: 150, epochs: 12, patience: 2 });
    // The tuning notes ($comment, $meta) are not parameters.
    expect(Object.keys(p).some((k) => k.startsWith('$'))).toBe(false);
    expect(await readTrainParams('gru4rec-yoochoose.v1', { model: 'sr' })).toMatchObject({ model: 'sr' });
  });

  it("the demo's candidate set: two GRU4Rec candidates that differ only in the repeat term; --epochs applies to both", async () => {
    const { train, candidates } = await readTrainingConfig(DEMO_TRAIN_CONFIG, { epochs: 1 });
    expect(candidates!.map((c) => c.name)).toEqual(['gru4rec', 'gru4rec-repeat']);
    expect(candidates![0]!.params).toEqual(train);
    expect(candidates![1]!.params).toEqual({ ...train, repeatWindow: 5 });
    expect(train).toMatchObject({ model: 'gru4rec', epochs: 1 });
    // A command that trains one model refuses it.
    await expect(readTrainParams(DEMO_TRAIN_CONFIG)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('a file path wins over a name; an unknown name or a bad file is CONFIG_INVALID with the shipped names', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-config-'));
    dirs.push(dir);
    const file = path.join(dir, 'mine.json');
    await writeFile(file, JSON.stringify({ model: 'sr' }));
    expect(resolveTrainConfig(file)).toBe(file);
    expect((await readTrainParams(file)).model).toBe('sr');
    expect(() => resolveTrainConfig('gru4rec-tuned')).toThrow(
      /no shipped configuration of that name \(shipped: .*gru4rec-yoochoose\.v1/,
    );
    expect(() => resolveTrainConfig('../configs/gru4rec')).toThrow(/no such file/);
    await writeFile(file, '{ not json');
    await expect(readTrainParams(file)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await writeFile(file, JSON.stringify({ model: 'nope' }));
    await expect(readTrainParams(file)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('yoochoose-best: hybrid candidates from its search, and the gate baselines it claims to beat (VSTAN among them)', async () => {
    const c = await readTrainingConfig('yoochoose-best');
    expect(c.train.model).toBe('hybrid');
    expect(c.candidates?.length).toBeGreaterThan(1);
    for (const cand of c.candidates!) {
      expect(cand.params.model).toBe('hybrid');
      expect(cand.params.hybrid?.components.some((x) => x.model === 'vstan')).toBe(true);
    }
    expect(c.gate).toEqual({ baselines: ['pop', 'sr', 'vsknn', 'stan', 'vstan'] });
  });

  it('a gate section holds only gate settings: unknown keys or kinds are CONFIG_INVALID', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-config-'));
    dirs.push(dir);
    const file = path.join(dir, 'gate.json');
    await writeFile(file, JSON.stringify({ model: 'sr', gate: { baselines: ['vstan'], confidence: 0.9 } }));
    expect((await readTrainingConfig(file)).gate).toEqual({ baselines: ['vstan'], confidence: 0.9 });
    for (const gate of [{ baselines: ['hybrid'] }, { baseline: ['sr'] }, 'vstan'])
      await writeFile(file, JSON.stringify({ model: 'sr', gate })).then(() =>
        expect(readTrainingConfig(file)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: /gate/ }),
      );
    await writeFile(
      file,
      JSON.stringify({ model: 'hybrid', hybrid: { components: [{ model: 'gru4rec', weight: 1 }] } }),
    );
    await expect(readTrainingConfig(file)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: /hybrid/ });
  });
});
