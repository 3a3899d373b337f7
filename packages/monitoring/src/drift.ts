import { SkiffError } from '@skiff/core';
import { defaultStatTest, isDrifted, STAT_TESTS } from './stattests.js';
import type { ColumnKind, Sample, StatTestDef, Value } from './stattests.js';

export type RawValue = number | string | null;
/** One column of a frame: plain values, or a Float64Array for numeric columns (NaN = missing). */
export type ColumnValues = readonly RawValue[] | Float64Array;

export interface DriftInput {
  reference: Record<string, ColumnValues>;
  current: Record<string, ColumnValues>;
  columns: Array<{ name: string; type: ColumnKind }>;
  /**
   * Dataset drift when share of drifted columns >= driftShare (Evidently's `drift_share`), in (0, 1].
   * Default 0.5, Evidently's default; a share of at most 1/columns means any drifted column.
   */
  driftShare?: number;
  /** Registry names ('ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi', 'kl_div'). */
  perColumnMethod?: Record<string, string>;
  perColumnThreshold?: Record<string, number>;
}

export interface ColumnDrift {
  column: string;
  type: ColumnKind;
  /** Registry name, e.g. 'ks'. */
  method: string;
  /** Display name, e.g. 'K-S p_value'. */
  methodName: string;
  score: number;
  threshold: number;
  drifted: boolean;
  referenceSize: number;
  currentSize: number;
}

export interface DriftResult {
  datasetDrift: boolean;
  /** The dataset-level threshold. */
  driftShare: number;
  /** Share of drifted columns. */
  share: number;
  nDrifted: number;
  nColumns: number;
  columns: ColumnDrift[];
}

/**
 * Drops null, NaN and ±Infinity (Evidently cleans every column of every dataset on its own).
 * Numerical columns come back as a Float64Array, categorical ones as an array.
 */
export function cleanColumn(values: ColumnValues, kind: ColumnKind, column: string, side: string): Sample {
  let out: Sample;
  if (values instanceof Float64Array) {
    let n = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) n++;
    const f = new Float64Array(n);
    let j = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) f[j++] = v;
    }
    out = f;
  } else if (kind === 'num') {
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === 'number') {
        if (Number.isFinite(v)) n++;
      } else if (typeof v === 'string') {
        throw new SkiffError('BAD_INPUT', `Column '${column}' is numerical but ${side} holds a non-numeric value`, {
          details: { column, side, value: v },
        });
      } else if (v !== null && v !== undefined) {
        throw new SkiffError('BAD_INPUT', `Column '${column}' holds an unsupported value in ${side}`, {
          details: { column, side },
        });
      }
    }
    const f = new Float64Array(n);
    let j = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === 'number' && Number.isFinite(v)) f[j++] = v;
    }
    out = f;
  } else if (isCleanCategorical(values)) {
    out = values as readonly Value[]; // nothing to drop: no copy
  } else {
    const a: Value[] = [];
    for (const v of values) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'number') {
        if (Number.isFinite(v)) a.push(v);
      } else if (typeof v === 'string') a.push(v);
      else
        throw new SkiffError('BAD_INPUT', `Column '${column}' holds an unsupported value in ${side}`, {
          details: { column, side },
        });
    }
    out = a;
  }
  if (out.length === 0) {
    throw new SkiffError(
      'BAD_INPUT',
      `An empty column '${column}' was provided for drift calculation in the ${side} dataset.`,
      {
        details: { column, side },
      },
    );
  }
  return out;
}

function isCleanCategorical(values: readonly RawValue[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') continue;
    if (typeof v === 'number' && Number.isFinite(v)) continue;
    return false;
  }
  return true;
}

export function resolveStatTest(name: string, kind: ColumnKind, column: string): StatTestDef {
  const def = STAT_TESTS[name];
  if (!def)
    throw new SkiffError('BAD_INPUT', `Unknown drift method '${name}' for column '${column}'`, {
      details: { column, method: name },
    });
  if (!def.allowed.includes(kind)) {
    throw new SkiffError('BAD_INPUT', `Drift method '${name}' is not allowed for ${kind} column '${column}'`, {
      details: { column, method: name, type: kind },
    });
  }
  return def;
}

/** Drift of one column, Evidently `get_one_column_drift` semantics. */
export function computeColumnDrift(
  column: string,
  kind: ColumnKind,
  reference: ColumnValues,
  current: ColumnValues,
  method?: string,
  threshold?: number,
): ColumnDrift {
  const r = cleanColumn(reference, kind, column, 'reference');
  const c = cleanColumn(current, kind, column, 'current');
  const test = method === undefined ? defaultStatTest(r, c, kind) : resolveStatTest(method, kind, column);
  const thr = threshold ?? test.defaultThreshold;
  const score = test.compute(r, c, kind);
  return {
    column,
    type: kind,
    method: test.name,
    methodName: test.displayName,
    score,
    threshold: thr,
    drifted: isDrifted(score, thr, test.direction),
    referenceSize: r.length,
    currentSize: c.length,
  };
}

/** Data drift of a set of columns, as Evidently 0.7 `DataDriftPreset` computes it. */
export function computeDrift(input: DriftInput): DriftResult {
  const driftShare = input.driftShare ?? 0.5;
  if (!(driftShare > 0 && driftShare <= 1))
    throw new SkiffError('BAD_INPUT', `computeDrift: driftShare must be in (0, 1], got ${driftShare}`);
  if (input.columns.length === 0) throw new SkiffError('BAD_INPUT', 'computeDrift: no columns to test');
  const seen = new Set<string>();
  const columns = input.columns.map(({ name, type }) => {
    if (seen.has(name))
      throw new SkiffError('BAD_INPUT', `Column '${name}' listed twice`, { details: { column: name } });
    seen.add(name);
    if (type !== 'num' && type !== 'cat') {
      throw new SkiffError('BAD_INPUT', `Column '${name}' has unsupported type '${String(type)}'`, {
        details: { column: name },
      });
    }
    const ref = input.reference[name];
    const cur = input.current[name];
    if (!ref)
      throw new SkiffError('BAD_INPUT', `Cannot find column '${name}' in reference dataset`, {
        details: { column: name },
      });
    if (!cur)
      throw new SkiffError('BAD_INPUT', `Cannot find column '${name}' in current dataset`, {
        details: { column: name },
      });
    return computeColumnDrift(name, type, ref, cur, input.perColumnMethod?.[name], input.perColumnThreshold?.[name]);
  });
  const nDrifted = columns.filter((c) => c.drifted).length;
  const share = nDrifted / columns.length;
  return { datasetDrift: share >= driftShare, driftShare, share, nDrifted, nColumns: columns.length, columns };
}
