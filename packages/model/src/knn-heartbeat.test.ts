import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainParamsSchema, type DatasetSnapshot, type Progress } from '@skiff/core';
import { createTfjsTrainer } from './create-tfjs-trainer.js';
import { evaluate, evaluateYielding } from './evaluate.js';
import { trainBaseline } from './model-kinds.js';
import { chains } from './test-helpers/chains.js';

/**
 * A kNN candidate is scored on validation prefix by prefix. Through Temporal the trainer's progress
 * events are the activity's heartbeats, and they only go out when the event loop turns: the
 * scoring must report and yield while it runs, not only before and after.
 */
describe('kNN candidates report while they are scored', () => {
  let dir: string;
  let snapshot: DatasetSnapshot;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-knn-heartbeat-'));
    const write = async (name: string, sessions: string[][]) => {
      const f = path.join(dir, `${name}.json`);
      await writeFile(f, JSON.stringify({ sessions }));
      return f;
    };
    snapshot = {
      snapshotId: 's',
      loadIds: [],
      createdAt: new Date(0).toISOString(),
      dir,
      files: {
        train: await write('train', chains(1_500, 5)),
        // About 2,700 prediction points: six batches of 512.
        validation: await write('validation', chains(800, 6)),
        test: await write('test', chains(800, 7)),
      },
      counts: { train: 1_500, validation: 800, test: 800, items: 120 },
      splitTime: { validationStart: new Date(0).toISOString(), testStart: new Date(0).toISOString() },
    };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const model of ['vsknn', 'stan', 'vstan', 'sr'] as const)
    it(`${model}: reports every batch of validation prefixes, with the event loop turning in between`, async () => {
      const batches: Progress[] = [];
      let turned = 0;
      let pending = false;
      const r = await createTfjsTrainer().train({
        snapshot,
        params: TrainParamsSchema.parse({ model }),
        outDir: path.join(dir, model),
        selectOnly: true,
        onProgress: (p) => {
          if (p.stage !== 'validate' || p.batch === undefined) return;
          // What a heartbeat needs: the loop ran since the previous report (a callback queued then has run).
          if (pending) throw new Error('the event loop did not turn between two reports');
          if (batches.length > 0) turned++;
          batches.push(p);
          pending = true;
          setImmediate(() => (pending = false));
        },
      });
      expect(batches.length).toBeGreaterThanOrEqual(5);
      expect(turned).toBe(batches.length - 1);
      expect(batches.map((b) => b.batch)).toEqual([...batches.keys()]);
      expect(batches.every((b) => b.batches === batches.length && b.epoch === 0 && b.epochs === 1)).toBe(true);
      expect(r.selection?.validation[0]?.['hr@20']).toBeGreaterThan(0);
    });

  it('scores exactly as the synchronous evaluation does, and stops between batches when cancelled', async () => {
    const train = chains(1_500, 5);
    const validation = chains(800, 6);
    const model = trainBaseline('vsknn', train);
    const counts = new Map<string, number>();
    for (const s of train) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
    const sync = evaluate(model, validation, { ks: [20], trainItemCounts: counts, perPoint: 'hr@20' });
    const yielding = await evaluateYielding(model, validation, {
      ks: [20],
      trainItemCounts: counts,
      perPoint: 'hr@20',
    });
    expect(yielding).toEqual(sync);
    const stop = new AbortController();
    let seen = 0;
    await expect(
      evaluateYielding(model, validation, {
        onBatch: () => {
          if (++seen === 2) stop.abort(new Error('cancelled'));
        },
        signal: stop.signal,
      }),
    ).rejects.toThrow('cancelled');
    expect(seen).toBe(2);
  });

  it('the evaluate stage reports every batch of test prefixes of a kNN baseline', async () => {
    const trainer = createTfjsTrainer();
    const candidate = path.join(dir, 'candidate');
    await trainer.train({ snapshot, params: TrainParamsSchema.parse({ model: 'sr' }), outDir: candidate });
    const events: Progress[] = [];
    await trainer.evaluate({
      snapshot,
      artifactDir: candidate,
      ks: [20],
      baselines: ['vsknn'],
      onProgress: (p) => void events.push(p),
    });
    const knn = events.filter((e) => e.stage === 'evaluate vsknn' && e.batch !== undefined);
    expect(knn.length).toBeGreaterThanOrEqual(5);
    expect(knn.at(-1)!.batch).toBe(knn.at(-1)!.batches! - 1);
  });
});
