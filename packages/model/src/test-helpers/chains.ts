import type { TrainParams } from '@skiff/core';
import { mulberry32 } from '../random.js';

/** Sessions of 3–6 items whose next item is mostly (7i + 3) mod 120 and sometimes random: a rule a sequence model can learn. */
export function chains(sessions: number, seed: number): string[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: sessions }, () => {
    let cur = Math.floor(rnd() * 120);
    return Array.from(
      { length: 3 + Math.floor(rnd() * 4) },
      () => `i${(cur = rnd() < 0.8 ? (cur * 7 + 3) % 120 : Math.floor(rnd() * 120))}`,
    );
  });
}

/** A GRU4Rec small enough to train on chains() in a second or two. */
export const SMALL_GRU4REC: TrainParams = {
  model: 'gru4rec',
  embeddingDim: 16,
  hiddenUnits: 16,
  maxLen: 6,
  epochs: 2,
  batchSize: 64,
  learningRate: 0.01,
  seed: 11,
};
