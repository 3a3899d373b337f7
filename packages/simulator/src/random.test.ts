import { describe, expect, it } from 'vitest';
import { createAliasTable, createRng, cumulative, hashSeed } from './random.js';

describe('random', () => {
  it('repeats per seed and stream, and differs otherwise', () => {
    const draw = (seed: number, stream = 0) => {
      const r = createRng(seed, stream);
      return Array.from({ length: 8 }, () => r.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(1)).not.toEqual(draw(1, 1));
    expect(hashSeed(2 ** 40)).not.toBe(hashSeed(0));
  });

  it('draws from the documented distributions', () => {
    const r = createRng(7);
    const n = 50_000;
    const mean = (f: () => number) => Array.from({ length: n }, f).reduce((a, b) => a + b, 0) / n;
    expect(mean(() => r.next())).toBeCloseTo(0.5, 1);
    expect(mean(() => r.uniform(2, 4))).toBeCloseTo(3, 1);
    expect(mean(() => r.normal())).toBeCloseTo(0, 1);
    expect(mean(() => r.geometric(0.25))).toBeCloseTo(3, 0);
    expect(mean(() => r.exponential(10))).toBeGreaterThan(9.5);
    expect(Math.log(mean(() => r.lognormal(1, 0.5)))).toBeCloseTo(1 + 0.125, 1);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(5);
      expect(Number.isInteger(k) && k >= 0 && k < 5).toBe(true);
    }
    expect(['a', 'b']).toContain(r.choice(['a', 'b']));
    expect(() => r.choice([])).toThrow();
  });

  it('samples weights via the alias table and the cumulative table alike', () => {
    const w = [1, 0, 3, 6];
    const alias = createAliasTable(w);
    const cum = cumulative(w);
    const r = createRng(3);
    const a = [0, 0, 0, 0];
    const c = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) {
      a[alias.sample(r)]!++;
      c[r.pick(cum)]!++;
    }
    expect(a[1]).toBe(0);
    expect(c[1]).toBe(0);
    for (const counts of [a, c]) {
      expect(counts[0]! / 40_000).toBeCloseTo(0.1, 1);
      expect(counts[3]! / 40_000).toBeCloseTo(0.6, 1);
    }
    expect(() => createAliasTable([0, 0])).toThrow();
  });
});
