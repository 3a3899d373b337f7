import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetSnapshot } from '@skiff/core';
import { seededRandom } from './contract-cases.js';

/** A dataset snapshot written by `writeContractSnapshot`, with its splits in memory. */
export interface ContractSnapshot {
  snapshot: DatasetSnapshot;
  train: string[][];
  validation: string[][];
  test: string[][];
  /** Items that occur in the test split only: no model trained on this snapshot may know them. */
  testOnlyItems: string[];
}

/**
 * Writes a small, structured dataset snapshot the way the warehouse does (the trainer
 * reads files, not tables): `train.json`, `validation.json`, `test.json` as
 * `{ sessions: string[][], startedAt: string[] }`, sessions ordered by start, plus `snapshot.json`.
 * `items` items; item i is followed by (7i + 3) mod items 80% of the time, so sequence models have
 * something to learn; starts are skewed to popular items. Some test sessions carry test-only items.
 */
export async function writeContractSnapshot(
  dir: string,
  options: { train?: number; validation?: number; test?: number; items?: number; seed?: number } = {},
): Promise<ContractSnapshot> {
  const { train: nTrain = 400, validation: nVal = 60, test: nTest = 80, items = 40, seed = 1 } = options;
  const rnd = seededRandom(seed);
  const randomItem = () => Math.floor(Math.pow(rnd(), 2) * items);
  const session = () => {
    let cur = randomItem();
    const len = 2 + Math.floor(rnd() * 5);
    const seq = [`t${cur}`];
    for (let i = 1; i < len; i++) {
      cur = rnd() < 0.8 ? (cur * 7 + 3) % items : randomItem();
      seq.push(`t${cur}`);
    }
    return seq;
  };
  const train = Array.from({ length: nTrain }, session);
  const validation = Array.from({ length: nVal }, session);
  const testOnlyItems = ['only-in-test-1', 'only-in-test-2'];
  const test = Array.from({ length: nTest }, (_, i) => {
    const s = session();
    if (i % 10 === 3) s.splice(1, 0, testOnlyItems[Math.floor(i / 10) % 2]!);
    return s;
  });
  const t0 = Date.UTC(2026, 0, 5, 6);
  const HOUR = 3_600_000;
  const starts = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => new Date(from + (i * HOUR) / 4).toISOString());
  await mkdir(dir, { recursive: true });
  const files = {
    train: path.join(dir, 'train.json'),
    validation: path.join(dir, 'validation.json'),
    test: path.join(dir, 'test.json'),
  };
  const trainStarts = starts(nTrain, t0);
  const validationStart = t0 + nTrain * (HOUR / 4);
  const testStart = validationStart + nVal * (HOUR / 4);
  await writeFile(files.train, JSON.stringify({ sessions: train, startedAt: trainStarts }));
  await writeFile(files.validation, JSON.stringify({ sessions: validation, startedAt: starts(nVal, validationStart) }));
  await writeFile(files.test, JSON.stringify({ sessions: test, startedAt: starts(nTest, testStart) }));
  const snapshot: DatasetSnapshot = {
    snapshotId: `snap-contract-${seed}`,
    loadIds: ['load-contract'],
    createdAt: new Date(testStart + nTest * HOUR).toISOString(),
    dir,
    files,
    counts: { train: nTrain, validation: nVal, test: nTest, items: new Set(train.flat()).size },
    splitTime: {
      validationStart: new Date(validationStart).toISOString(),
      testStart: new Date(testStart).toISOString(),
    },
  };
  await writeFile(path.join(dir, 'snapshot.json'), JSON.stringify(snapshot, null, 2));
  return { snapshot, train, validation, test, testOnlyItems };
}
