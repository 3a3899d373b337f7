import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '@skiff/testing';
import { evaluate } from './evaluate.js';
import type { BaselineKind } from '@skiff/core';
import { trainBaseline } from './model-kinds.js';
import { readSessionFile, readSessionTable } from './session-file.js';
import { itemCounts } from './vocabulary.js';

const lookup = findPublicData(
  YOOCHOOSE_SAMPLE,
  ['yoochoose-clicks-100k_train_full.txt', 'yoochoose-clicks-100k_test.txt'],
  process.env,
);
const dataDir = lookup.dir ?? '';
const exists = lookup.dir !== null;
const title = exists
  ? 'YooChoose rsc15-100k reference numbers'
  : `YooChoose rsc15-100k reference numbers (skipped: ${publicDataSkipReason(YOOCHOOSE_SAMPLE, lookup)})`;

/** From the data folder's README: next-item HR@20 / MRR@20 over all 10,152 test prediction points. */
const REFERENCE: Record<BaselineKind, { hr: number; mrr: number }> = {
  pop: { hr: 0.089, mrr: 0.026 },
  sr: { hr: 0.619, mrr: 0.347 },
  vsknn: { hr: 0.679, mrr: 0.37 },
  stan: { hr: 0.668, mrr: 0.373 },
  vstan: { hr: 0.685, mrr: 0.375 },
};

describe.skipIf(!exists)(title, () => {
  it('POP, SR and V-SKNN trained on train_full match the reference on test within ±0.01', async () => {
    const [train, test] = await Promise.all([
      readSessionTable(path.join(dataDir, 'yoochoose-clicks-100k_train_full.txt')),
      readSessionFile(path.join(dataDir, 'yoochoose-clicks-100k_test.txt')),
    ]);
    expect(train.sessions.length).toBe(17_794);
    const counts = itemCounts(train.sessions);
    expect(counts.size).toBe(2_933);
    for (const kind of ['pop', 'sr', 'vsknn'] as const) {
      const model = trainBaseline(kind, train.sessions, { lastTimes: train.lastTimes });
      const { metrics, predictions } = evaluate(model, test, { ks: [20], trainItemCounts: counts });
      expect(predictions, kind).toBe(10_152);
      expect(Math.abs(metrics['hr@20']! - REFERENCE[kind].hr), `${kind} hr@20 ${metrics['hr@20']}`).toBeLessThanOrEqual(
        0.01,
      );
      expect(
        Math.abs(metrics['mrr@20']! - REFERENCE[kind].mrr),
        `${kind} mrr@20 ${metrics['mrr@20']}`,
      ).toBeLessThanOrEqual(0.01);
    }
  });

  it("STAN and VSTAN with session-rec's RSC15 settings trained on train_full match the reference on test within ±0.01", async () => {
    const [train, test] = await Promise.all([
      readSessionTable(path.join(dataDir, 'yoochoose-clicks-100k_train_full.txt')),
      readSessionFile(path.join(dataDir, 'yoochoose-clicks-100k_test.txt')),
    ]);
    const counts = itemCounts(train.sessions);
    for (const kind of ['stan', 'vstan'] as const) {
      const model = trainBaseline(kind, train.sessions, { lastTimes: train.lastTimes });
      const { metrics, predictions } = evaluate(model, test, { ks: [20], trainItemCounts: counts });
      expect(predictions, kind).toBe(10_152);
      expect(Math.abs(metrics['hr@20']! - REFERENCE[kind].hr), `${kind} hr@20 ${metrics['hr@20']}`).toBeLessThanOrEqual(
        0.01,
      );
      expect(
        Math.abs(metrics['mrr@20']! - REFERENCE[kind].mrr),
        `${kind} mrr@20 ${metrics['mrr@20']}`,
      ).toBeLessThanOrEqual(0.01);
    }
  });
});
