/** The 10^6-row fast paths (radix sort, merge walks, CSV reader) against plain reference versions. */
import { describe, expect, it } from 'vitest';
import { parseCsvFrame } from './csv.js';
import { cleanColumn, computeDrift } from './drift.js';
import { ksStatistic } from './ks.js';
import { sortedFloat64 } from './sort.js';
import { wassersteinDistance } from './stattests.js';
import { mulberry32 as rng } from '@skiff/core';

function upper(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((s[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** scipy's _cdf_distance(p=1) written the direct way (pooled sort + searchsorted). */
function naiveWasserstein(u: number[], v: number[]): number {
  const us = Float64Array.from(u).sort();
  const vs = Float64Array.from(v).sort();
  const all = Float64Array.from([...u, ...v]).sort();
  let sum = 0;
  for (let i = 0; i < all.length - 1; i++)
    sum += Math.abs(upper(us, all[i]!) / us.length - upper(vs, all[i]!) / vs.length) * (all[i + 1]! - all[i]!);
  return sum;
}
function naiveKs(a: number[], b: number[]): number {
  const s1 = Float64Array.from(a).sort();
  const s2 = Float64Array.from(b).sort();
  let d = 0;
  for (const v of [...a, ...b]) d = Math.max(d, Math.abs(upper(s1, v) / s1.length - upper(s2, v) / s2.length));
  return d;
}
function sample(seed: number, n: number, ties: boolean): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const x = (r() - 0.4) * 1e3 * (r() < 0.01 ? 1e12 : 1);
    return ties ? Math.round(x / 50) * 50 : x;
  });
}

describe('fast paths', () => {
  it('radix sortedFloat64 equals the built-in sort (negatives, -0, ties, huge and tiny values)', () => {
    const base = sample(1, 50_000, false);
    base.push(-0, 0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 1e308, -1e308, 5e-324, 0.1, 0.1, -0.1);
    const mine = sortedFloat64(base);
    const ref = Float64Array.from(base).sort();
    expect(mine.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) if (!Object.is(mine[i], ref[i])) expect([i, mine[i]]).toEqual([i, ref[i]]);
    expect(Array.from(sortedFloat64([3, 1, 2]))).toEqual([1, 2, 3]);
    expect(base[0]).toBe(sample(1, 1, false)[0]); // input untouched
  });

  it('merge-walk Wasserstein and KS statistic equal the pooled-sort versions', () => {
    for (const ties of [false, true]) {
      const u = sample(2, 6000, ties);
      const v = sample(3, 4500, ties).map((x) => x + 20);
      expect(wassersteinDistance(u, v)).toBeCloseTo(naiveWasserstein(u, v), 6);
      expect(Math.abs(wassersteinDistance(u, v) - naiveWasserstein(u, v)) / naiveWasserstein(u, v)).toBeLessThan(1e-12);
      expect(ksStatistic(u, v)).toBe(naiveKs(u, v));
    }
  });

  it('parses CSV numbers exactly like Number(), keeps text columns as text', () => {
    const r = rng(4);
    const rows: string[] = ['a,b,c,d'];
    const expectA: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = ((r() - 0.5) * 10 ** Math.floor(r() * 12)).toFixed(Math.floor(r() * 9));
      expectA.push(Number(a));
      // c looks numeric for 2000 rows, then holds text: the reader restarts with c as text.
      rows.push(
        `${a},${i % 3 === 0 ? '' : i % 7},${i < 2000 ? String(i).padStart(3, '0') : 'x'},${i % 2 ? '1e3' : '-0.5'}`,
      );
    }
    const { frame, columns } = parseCsvFrame(`${rows.join('\r\n')}\r\n\r\n`);
    expect(columns).toEqual([
      { name: 'a', type: 'num' },
      { name: 'b', type: 'num' },
      { name: 'c', type: 'cat' },
      { name: 'd', type: 'num' },
    ]);
    expect(Array.from(frame.a as Float64Array)).toEqual(expectA);
    expect(Number.isNaN((frame.b as Float64Array)[0])).toBe(true);
    expect((frame.c as string[]).slice(0, 3)).toEqual(['000', '001', '002']);
    expect((frame.c as string[])[2999]).toBe('x');
    expect(Array.from((frame.d as Float64Array).slice(0, 2))).toEqual([-0.5, 1000]);
  });

  it('reads quoted fields by RFC 4180, with the same columns as the unquoted text', () => {
    const plain = parseCsvFrame('x,y,z\r\n1,a,\r\n2,b,3\r\n');
    const quoted = parseCsvFrame('"x",y,z\r\n"1","a",\r\n2,b,"3"\r\n');
    expect(quoted.columns).toEqual(plain.columns);
    expect(Array.from(quoted.frame.x as Float64Array)).toEqual(Array.from(plain.frame.x as Float64Array));
    expect(quoted.frame.y).toEqual(plain.frame.y);
    expect(Array.from(quoted.frame.z as Float64Array)).toEqual(Array.from(plain.frame.z as Float64Array));
    const comma = parseCsvFrame('category,n\n"shoes, red",1\n"say ""hi""",\n');
    expect(comma.frame.category).toEqual(['shoes, red', 'say "hi"']);
    expect(comma.columns.map((c) => c.type)).toEqual(['cat', 'num']);
  });

  it('reads short rows as missing, Infinity as text, and cleans Float64Array columns', () => {
    const { frame, columns } = parseCsvFrame('x,y,z\n1,a\n2,Infinity,3\n');
    expect(columns.map((c) => c.type)).toEqual(['num', 'cat', 'num']);
    expect(frame.y).toEqual(['a', 'Infinity']);
    expect(Array.from(cleanColumn(frame.z!, 'num', 'z', 'reference'))).toEqual([3]);
    const drift = computeDrift({
      reference: { x: new Float64Array([1, 2, NaN, 3]) },
      current: { x: [1, 2, null, 3] },
      columns: [{ name: 'x', type: 'num' }],
    });
    expect(drift.columns[0]!.score).toBe(1);
  });
});
