import { SkiffError } from '@skiff/core';
import { describe, expect, it } from 'vitest';
import { computeDrift } from './drift.js';
import { kstwoSf, probOutsideSquare } from './ks.js';
import { chi2Sf } from './special.js';
import {
  chiSquareTest,
  defaultStatTest,
  jensenShannonTest,
  klDivTest,
  ksTest,
  psiTest,
  wassersteinNormed,
  zTest,
} from './stattests.js';
import type { Value } from './stattests.js';
import { pyFloatRepr, valueDriftFingerprint, driftedColumnsCountFingerprint } from './snapshot.js';

const rep = <T extends Value>(v: T, n: number): T[] => Array.from({ length: n }, () => v);
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const close = (actual: number, expected: number, rtol = 1e-9): void => {
  if (expected === 0) expect(actual).toBe(0);
  else expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(rtol);
};

describe('golden values (computed with Evidently 0.7.21)', () => {
  it('cat_ABC', () => {
    const r = [...rep('A', 50), ...rep('B', 30), ...rep('C', 20)];
    const c = [...rep('A', 30), ...rep('B', 30), ...rep('C', 40)];
    expect(defaultStatTest(r, c, 'cat').name).toBe('chisquare');
    close(chiSquareTest(r, c), 8.31528719103568e-7);
    close(psiTest(r, c, 'cat'), 0.2407945608651872);
    close(klDivTest(r, c, 'cat'), 0.11678337577100631);
    close(jensenShannonTest(r, c, 'cat'), 0.1721147310381218);
  });
  it('cat_new_category', () => {
    const r = [...rep('A', 60), ...rep('B', 40)];
    const c = [...rep('A', 50), ...rep('B', 40), ...rep('C', 10)];
    expect(defaultStatTest(r, c, 'cat').name).toBe('chisquare');
    expect(chiSquareTest(r, c)).toBe(0);
    close(psiTest(r, c, 'cat'), 0.7083169080497109);
    close(klDivTest(r, c, 'cat'), 0.10859129441919929);
    close(jensenShannonTest(r, c, 'cat'), 0.19218019454096966);
  });
  it('bin_01', () => {
    const r = [...rep(0, 70), ...rep(1, 30)];
    const c = [...rep(0, 55), ...rep(1, 45)];
    expect(defaultStatTest(r, c, 'cat').name).toBe('z');
    close(zTest(r, c), 0.02845973691631065);
    close(chiSquareTest(r, c), 0.001063114917158603);
    close(psiTest(r, c, 'cat'), 0.09699407473875783);
    close(jensenShannonTest(r, c, 'cat'), 0.1098256813033321);
  });
  it('num_1_10_vs_3_12', () => {
    const r = range(1, 10);
    const c = range(3, 12);
    expect(defaultStatTest(r, c, 'num').name).toBe('ks');
    close(ksTest(r, c), 0.9944575548290717);
    close(wassersteinNormed(r, c), 0.6963106238227914);
    close(psiTest(r, c, 'num'), 2.760339009481262);
    close(klDivTest(r, c, 'num'), 1.379893526035424);
    close(jensenShannonTest(r, c, 'num'), 0.3723297411059034);
  });
  it('num_0_29_vs_5_34 (Sturges histogram branch)', () => {
    const r = range(0, 29);
    const c = range(5, 34);
    close(ksTest(r, c), 0.8079631540901643);
    close(wassersteinNormed(r, c), 0.5776712868787001);
    close(psiTest(r, c, 'num'), 2.4713765847354927);
    close(klDivTest(r, c, 'num'), 1.2355647358941568);
    close(jensenShannonTest(r, c, 'num'), 0.3398889967229363);
  });
  it('n=500 exact KS (D=0.052): p = 0.5089169658042532, asymptotic kstwo 0.49226', () => {
    close(probOutsideSquare(500, 26), 0.5089169658042532);
    close(kstwoSf(0.052, 250), 0.4922632346865272, 1e-9);
  });
  it('chi2.sf closed forms', () => {
    close(chi2Sf(28, 2), Math.exp(-14), 1e-14);
    close(chi2Sf(5.3, 3), 0.15110239109845824, 1e-12);
    close(chi2Sf(12.1, 7), 0.09731790202385893, 1e-12);
  });
});

describe('computeDrift', () => {
  it('drops null/NaN/inf per column, applies directions and dataset share >=', () => {
    const res = computeDrift({
      reference: { a: [...range(1, 10), null, Number.NaN], b: [...rep('x', 50), ...rep('y', 50)] },
      current: { a: [...range(3, 12), Infinity], b: [...rep('x', 50), ...rep('y', 50), null] },
      columns: [
        { name: 'a', type: 'num' },
        { name: 'b', type: 'cat' },
      ],
    });
    expect(res.columns[0]).toMatchObject({
      method: 'ks',
      methodName: 'K-S p_value',
      referenceSize: 10,
      currentSize: 10,
      drifted: false,
    });
    expect(res.columns[1]).toMatchObject({ method: 'z', score: 1, drifted: false });
    expect(res).toMatchObject({ nDrifted: 0, nColumns: 2, share: 0, datasetDrift: false, driftShare: 0.5 });
  });
  it('per-column method/threshold and share >= driftShare', () => {
    const res = computeDrift({
      reference: { a: range(1, 10), b: [...rep('A', 50), ...rep('B', 30), ...rep('C', 20)] },
      current: { a: range(3, 12), b: [...rep('A', 30), ...rep('B', 30), ...rep('C', 40)] },
      columns: [
        { name: 'a', type: 'num' },
        { name: 'b', type: 'cat' },
      ],
      perColumnMethod: { a: 'psi' },
      perColumnThreshold: { a: 3 },
    });
    expect(res.columns[0]).toMatchObject({ method: 'psi', threshold: 3, drifted: false });
    expect(res.columns[1]).toMatchObject({ method: 'chisquare', drifted: true });
    expect(res.share).toBe(0.5);
    expect(res.datasetDrift).toBe(true);
  });
  it('driftShare: one drifted column of two is dataset drift at 0.1 and 0.5, not at 0.6; outside (0, 1] is BAD_INPUT', () => {
    const input = {
      reference: { a: range(1, 10), b: [...rep('A', 50), ...rep('B', 30), ...rep('C', 20)] },
      current: { a: range(1, 10), b: [...rep('A', 30), ...rep('B', 30), ...rep('C', 40)] },
      columns: [
        { name: 'a', type: 'num' as const },
        { name: 'b', type: 'cat' as const },
      ],
    };
    for (const [driftShare, datasetDrift] of [
      [0.1, true],
      [0.5, true],
      [0.6, false],
    ] as const)
      expect(computeDrift({ ...input, driftShare })).toMatchObject({
        nDrifted: 1,
        share: 0.5,
        driftShare,
        datasetDrift,
      });
    for (const driftShare of [0, -0.1, 1.5, Number.NaN])
      expect(() => computeDrift({ ...input, driftShare })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
  it('empty column after cleaning is BAD_INPUT', () => {
    const run = (): unknown =>
      computeDrift({
        reference: { a: [1, 2] },
        current: { a: [null, Number.NaN] },
        columns: [{ name: 'a', type: 'num' }],
      });
    expect(run).toThrow(SkiffError);
    try {
      run();
    } catch (e) {
      expect((e as SkiffError).code).toBe('BAD_INPUT');
    }
  });
  it('rejects chisquare by name on a numerical column (as Evidently does)', () => {
    expect(() =>
      computeDrift({
        reference: { a: [1, 2, 3] },
        current: { a: [1, 2, 3] },
        columns: [{ name: 'a', type: 'num' }],
        perColumnMethod: { a: 'chisquare' },
      }),
    ).toThrow(/not allowed/);
  });
});

describe("snapshot fingerprints (Evidently's metric ids)", () => {
  it('matches Evidently ids', () => {
    expect(valueDriftFingerprint('age')).toBe('1cf7e5c2a8eb2a62a2667e70ee06d259');
    expect(driftedColumnsCountFingerprint(0.5)).toBe('15e89f895b482f9b84ba7274ed18a106');
    expect([pyFloatRepr(0.2), pyFloatRepr(1), pyFloatRepr(1e-5), pyFloatRepr(0.0001), pyFloatRepr(1e16)]).toEqual([
      '0.2',
      '1.0',
      '1e-05',
      '0.0001',
      '1e+16',
    ]);
  });
});
