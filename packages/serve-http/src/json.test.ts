import { describe, expect, it } from 'vitest';
import { scoredItemsJson } from './json.js';
import type { ServingRecord } from '@skiff/core';
import { servingRecordJson } from './serving-log.js';

/** Strings that JSON must escape or that are easy to get wrong by hand. */
const ODD = ['', 'a"b', 'back\\slash', 'new\nline', '\u0000\u001f', '\ud800', '\u202e😀', '</script>'];

describe('hand-written JSON (json.ts)', () => {
  it('writes a recommendation list exactly as JSON.stringify does', () => {
    const scores = [
      1,
      0.5,
      0.123457,
      -0,
      -3.25,
      1e-7,
      1e21,
      123456789.123456,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const items = scores.map((score, i) => ({ itemId: ODD[i % ODD.length]! + String(i), score }));
    expect(scoredItemsJson(items)).toBe(JSON.stringify(items));
    expect(scoredItemsJson([])).toBe('[]');
  });

  it('writes a serving record exactly as JSON.stringify does', () => {
    const base: ServingRecord = {
      ts: '2026-01-02T03:04:05.000Z',
      requestId: '0b7c5f7e-5a8f-4c1e-9a35-2f0e6d1c9b11',
      sessionId: null,
      items: ODD,
      k: 20,
      unknownItems: 3,
      recommended: [{ itemId: 'x', score: 0.25 }],
      model: { name: 'gru4rec "v"', version: 'v0001' },
      latencyMs: 1.234,
    };
    for (const r of [base, { ...base, sessionId: 's\n1', items: [], recommended: [] }])
      expect(servingRecordJson(r)).toBe(JSON.stringify(r));
  });
});
