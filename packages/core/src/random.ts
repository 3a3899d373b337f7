/**
 * The seeded PRNG (mulberry32) for training shuffles, monitoring samples, tests and benchmarks:
 * deterministic floats in [0, 1), so a seed means the same thing in each of them. The simulator has
 * a generator of its own (sfc32 with named streams, `packages/simulator/src/random.ts`): it needs
 * independent streams per purpose, and its seeds define the demo's data, which must not change.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
