import { mulberry32 } from '@skiff/core';

export { mulberry32 };

/** Fisher–Yates shuffle with the given PRNG. */
export function shuffleInPlace(a: { length: number; [i: number]: number }, rnd: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
