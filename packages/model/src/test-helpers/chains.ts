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
