import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ScoredItem } from '@skiff/core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { loadModelArtifact, disposeModel } from './model-kinds.js';

// Artifacts saved by earlier versions (src/test-fixtures, written by make-fixtures.mjs with the code
// of their time) and the answers that code gave: loading them must give the same answers.
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-fixtures');

interface Answers {
  backend: string;
  histories: string[][];
  batch: ScoredItem[][];
  single: ScoredItem[][];
}

/** Same items in the same order; scores bit-equal on the backend that wrote them, else equal to float32 round-off. */
function expectSameAnswers(got: ScoredItem[][], want: ScoredItem[][], sameBackend: boolean): void {
  expect(got.map((l) => l.map((s) => s.itemId))).toEqual(want.map((l) => l.map((s) => s.itemId)));
  if (sameBackend) expect(got).toEqual(want);
  else
    got.forEach((l, i) =>
      l.forEach((s, j) => expect(Math.abs(s.score - want[i]![j]!.score)).toBeLessThan(1e-4 * (1 + Math.abs(s.score)))),
    );
}

describe('artifacts saved by earlier versions', () => {
  for (const name of ['gru4rec-reset-after-v1', 'sasrec-v1']) {
    it(`${name} loads and answers as it did when saved`, async () => {
      const { backend } = await initBackend();
      const dir = path.join(fixtures, name);
      const want = JSON.parse(await readFile(path.join(dir, 'answers.json'), 'utf8')) as Answers;
      const before = tf.memory().numTensors;
      const model = await loadModelArtifact(dir);
      expect(model.name).toBe(name.startsWith('sasrec') ? 'sasrec' : 'gru4rec');
      const same = backend === want.backend;
      expectSameAnswers(model.recommendBatch(want.histories, 10), want.batch, same);
      expectSameAnswers(
        want.histories.map((h) => model.recommend(h, 10, new Set(['i1']))),
        want.single,
        same,
      );
      disposeModel(model);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
