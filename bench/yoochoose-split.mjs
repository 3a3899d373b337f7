// The YooChoose rsc15-100k sample split by skiff's own pipeline code: train_full and test are
// loaded as two raw files into a temporary DuckDB warehouse (@skiff/ingest), transformed with the
// default split rule (session-rec's: test = sessions whose last event falls in the final day,
// validation = the same rule on what remains) and snapshotted — the split `skiff train` uses.
//
//   import { yoochooseDir, pipelineSplit } from './yoochoose-split.mjs';
//
// The data folder: where @skiff/testing's findPublicData finds it (data/README.md, Public data).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDuckDbWarehouse } from '../packages/ingest/dist/index.js';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '../packages/testing/dist/public-data.js';

export const TRAIN_FULL = 'yoochoose-clicks-100k_train_full.txt';
export const TEST = 'yoochoose-clicks-100k_test.txt';

/** { dir, candidates, reason }: the sample's folder (undefined when absent), the places looked in, a skip line. */
export function yoochooseDir() {
  const lookup = findPublicData(YOOCHOOSE_SAMPLE, [TRAIN_FULL, TEST], process.env);
  return {
    dir: lookup.dir ?? undefined,
    candidates: lookup.looked,
    reason: publicDataSkipReason(YOOCHOOSE_SAMPLE, lookup),
  };
}

/**
 * { train, validation, test, refit, split }: each part { sessions, lastTimes } (last event time in
 * ms); refit = train + validation (what the final model is trained on); split = the snapshot's
 * rule, cuts and sizes.
 */
export async function pipelineSplit(dataDir, options = {}) {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-split-'));
  try {
    const wh = await createDuckDbWarehouse({
      path: path.join(tmp, 'w.duckdb'),
      ...(options.split ? { split: options.split } : {}),
    });
    let snap;
    try {
      await wh.load([path.join(dataDir, TRAIN_FULL), path.join(dataDir, TEST)]);
      await wh.transform();
      const checks = await wh.check();
      if (!checks.passed)
        throw new Error(`data-quality checks failed: ${JSON.stringify(checks.checks.filter((c) => !c.passed))}`);
      snap = await wh.snapshot(path.join(tmp, 'snapshots'));
    } finally {
      await wh.close();
    }
    const read = async (f) => {
      const j = JSON.parse(await readFile(f, 'utf8'));
      return { sessions: j.sessions, lastTimes: j.endedAt.map((t) => Date.parse(t)) };
    };
    const [train, validation, test] = await Promise.all([
      read(snap.files.train),
      read(snap.files.validation),
      read(snap.files.test),
    ]);
    const refit = {
      sessions: [...train.sessions, ...validation.sessions],
      lastTimes: [...train.lastTimes, ...validation.lastTimes],
    };
    return { train, validation, test, refit, split: snap.split };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
