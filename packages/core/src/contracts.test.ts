import { describe, expect, it } from 'vitest';
import {
  BASELINE_KINDS,
  DEFAULT_QUALITY_GATE,
  isBaselineKind,
  isHybridKind,
  isItemEvent,
  isModelKind,
  MODEL_KINDS,
  NEURAL_KINDS,
  parseTimestamp,
  parseTimestampMs,
  sqlIdentifier,
  sqlString,
  TrainParamsSchema,
} from './index.js';

describe('the contracts shared between packages', () => {
  it('parses timestamps by one strict rule, refusing impossible dates', () => {
    expect(parseTimestamp('2026-02-28T10:00:00Z')).toBe(Date.UTC(2026, 1, 28, 10));
    expect(parseTimestamp('2026-02-30')).toBeUndefined();
    expect(parseTimestamp('2026-02-30T10:00:00Z')).toBeUndefined();
    expect(parseTimestampMs('2026-02-30T10:00:00Z')).toBeNull();
    expect(parseTimestampMs(1767225600)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestampMs({ t: 1 })).toBeNull();
  });

  it('lists the model kinds once: neural, baselines, then the hybrid, and the training params take exactly those', () => {
    expect(MODEL_KINDS).toEqual([...NEURAL_KINDS, ...BASELINE_KINDS, 'hybrid']);
    expect(isHybridKind('hybrid')).toBe(true);
    expect(isBaselineKind('hybrid')).toBe(false);
    for (const kind of MODEL_KINDS) expect(TrainParamsSchema.parse({ model: kind }).model).toBe(kind);
    expect(() => TrainParamsSchema.parse({ model: 'knn' })).toThrow();
    expect(isModelKind('vstan')).toBe(true);
    expect(isModelKind('latest')).toBe(false);
  });

  it("keeps a baseline run's own settings and refuses a misspelled one, at the top level and in a hybrid's components", () => {
    expect(TrainParamsSchema.parse({ model: 'vstan', vstan: { k: 500, lambdaIdf: 1 } }).vstan).toEqual({
      k: 500,
      lambdaIdf: 1,
    });
    expect(TrainParamsSchema.parse({ model: 'sr', sr: { steps: 8 } }).sr).toEqual({ steps: 8 });
    expect(() => TrainParamsSchema.parse({ model: 'vstan', vstan: { lambdaIPW: 4 } })).toThrow(/lambdaIPW/);
    expect(() => TrainParamsSchema.parse({ model: 'sr', sr: { weighting: 'cubic' } })).toThrow();
    const hybrid = (params: Record<string, unknown>) =>
      TrainParamsSchema.safeParse({ model: 'hybrid', hybrid: { components: [{ model: 'vstan', weight: 1, params }] } });
    expect(hybrid({ lambdaIpw: 4 }).success).toBe(true);
    const bad = hybrid({ lambdaIpw: -1, kk: 3 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['hybrid.components.0.params.lambdaIpw', 'hybrid.components.0.params']),
    );
  });

  it('counts only item events in a session sequence', () => {
    expect(isItemEvent('click', 'i1')).toBe(true);
    expect(isItemEvent('purchase', 'i1')).toBe(true);
    expect(isItemEvent('search', 'i1')).toBe(false);
    expect(isItemEvent('click', '')).toBe(false);
    expect(isItemEvent(undefined, 'i1')).toBe(false);
  });

  it('quotes SQL literals and identifiers', () => {
    expect(sqlString("it's")).toBe("'it''s'");
    expect(sqlIdentifier('my "db"')).toBe('"my ""db"""');
  });

  it('has one quality gate default', () => {
    expect(DEFAULT_QUALITY_GATE).toEqual({ metric: 'hr@20', maxRelativeDrop: 0.2, minEvents: 200 });
  });
});
