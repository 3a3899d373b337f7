/**
 * Evidently 0.7 `SnapshotModel` writer (the format `Snapshot.load` and the Evidently UI read) for the
 * metrics of `DataDriftPreset`: one DriftedColumnsCount and one ValueDrift per column.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { DriftInput, DriftResult } from './drift.js';
import { writeFileAtomic } from '@skiff/node-io';

export type DriftData = Pick<DriftInput, 'reference' | 'current'> &
  Partial<Pick<DriftInput, 'perColumnMethod' | 'perColumnThreshold'>>;

export interface SnapshotOptions {
  name?: string | null;
  metadata?: Record<string, string>;
  tags?: string[];
  /** Defaults to now, naive local ISO with microseconds (like Python's datetime.now()). */
  timestamp?: Date;
}

const CLASSPATH = 'evidently.metrics.column_statistics';
const VALUE_DRIFT = 'evidently:metric_v2:ValueDrift';
const DRIFTED_COUNT = 'evidently:metric_v2:DriftedColumnsCount';

/** Python `repr` of a float (shortest round-trip digits, Python's fixed/scientific switch). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (exp >= -4 && exp < 16) {
    let s: string;
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      s = `${intPart}.${frac === '' ? '0' : frac}`;
    } else {
      s = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
    return (neg ? '-' : '') + s;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${m}e${exp < 0 ? '-' : '+'}${e}`;
}

/** Python `repr` of a str (simple cases: quotes and backslashes). */
export function pyStrRepr(s: string): string {
  const useDouble = s.includes("'") && !s.includes('"');
  const q = useDouble ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return q + out + q;
}

function md5(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

function tupleRepr(parts: Array<[string, string]>): string {
  if (parts.length === 0) return '()';
  const items = parts.map(([k, v]) => `(${pyStrRepr(k)}, ${v})`);
  return parts.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
}

/** Evidently fingerprint of ValueDrift(column, method?, threshold?) as the preset constructs it. */
export function valueDriftFingerprint(column: string, method?: string, threshold?: number): string {
  const parts: Array<[string, string]> = [['column', pyStrRepr(column)]];
  if (method !== undefined) parts.push(['method', pyStrRepr(method)]);
  if (threshold !== undefined) parts.push(['threshold', pyFloatRepr(threshold)]);
  return md5(`${CLASSPATH}.ValueDrift${tupleRepr(parts)}`);
}

/**
 * Fingerprint of DriftedColumnsCount(drift_share). Exact for the default preset options; when
 * per-column methods/thresholds are set the id is a stable unique md5 (Evidently accepts any id).
 */
export function driftedColumnsCountFingerprint(driftShare: number, data?: DriftData): string {
  const parts: Array<[string, string]> = [];
  if (driftShare !== 0.5) parts.push(['drift_share', pyFloatRepr(driftShare)]);
  const extra =
    data?.perColumnMethod || data?.perColumnThreshold
      ? JSON.stringify({ m: data.perColumnMethod ?? null, t: data.perColumnThreshold ?? null })
      : '';
  return md5(`${CLASSPATH}.DriftedColumnsCount${tupleRepr(parts)}${extra}`);
}

function naiveLocalIso(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:` +
    `${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`
  );
}

/** Evidently's JSON encoder writes non-finite floats as NaN / Infinity tokens; we keep them finite-safe. */
function finite(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

function fmt(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) < 0.001) return x.toExponential(2);
  return x.toFixed(3);
}

export function buildEvidentlySnapshot(
  result: DriftResult,
  data: DriftData,
  options: SnapshotOptions = {},
): Record<string, unknown> {
  const metricResults: Record<string, unknown> = {};
  const topLevel: string[] = [];

  const countId = driftedColumnsCountFingerprint(result.driftShare, data);
  const countParams = { type: DRIFTED_COUNT, drift_share: result.driftShare };
  const loc = (
    id: string,
    params: Record<string, unknown>,
    param: Record<string, string>,
  ): Record<string, unknown> => ({
    metric: { metric_id: id, params },
    param,
  });
  metricResults[countId] = {
    type: 'evidently:metric_result_v2:CountValue',
    display_name: 'Count of Drifted Columns',
    metric_value_location: loc(countId, countParams, {}),
    widget: null,
    tests: [],
    count: {
      type: 'evidently:metric_result_v2:SingleValue',
      display_name: 'Count of Drifted Columns',
      metric_value_location: loc(countId, countParams, { value_type: 'count' }),
      widget: null,
      tests: [],
      value: result.nDrifted,
    },
    share: {
      type: 'evidently:metric_result_v2:SingleValue',
      display_name: 'Share of Drifted Columns',
      metric_value_location: loc(countId, countParams, { value_type: 'share' }),
      widget: null,
      tests: [],
      value: result.share,
    },
  };
  topLevel.push(countId);

  // DataDriftPreset order: numerical columns, then categorical.
  const ordered = [
    ...result.columns.filter((c) => c.type === 'num'),
    ...result.columns.filter((c) => c.type === 'cat'),
  ];
  const counters: Array<{ value: string; label: string }> = [];
  for (const col of ordered) {
    const userMethod = data.perColumnMethod?.[col.column];
    const userThreshold = data.perColumnThreshold?.[col.column];
    const id = valueDriftFingerprint(col.column, userMethod, userThreshold);
    const params = {
      type: VALUE_DRIFT,
      column: col.column,
      method: userMethod ?? col.methodName,
      threshold: col.threshold,
    };
    metricResults[id] = {
      type: 'evidently:metric_result_v2:SingleValue',
      display_name: `Value drift for ${col.column}`,
      metric_value_location: loc(id, params, {}),
      widget: null,
      tests: [],
      value: finite(col.score),
    };
    topLevel.push(id);
    counters.push({
      value: col.drifted ? `Drift in column '${col.column}'` : `No drift in column '${col.column}'`,
      label: `${col.drifted ? 'Data drift detected' : 'Data drift not detected'}. Drift detection method: ${col.methodName}. Drift score: ${fmt(col.score)}`,
    });
  }

  /** One Evidently counter widget (the UI's summary tiles). */
  const counterWidget = (list: Array<{ value: string; label: string }>) => ({
    type: 'counter',
    title: '',
    size: 2,
    id: randomUUID(),
    params: { counters: list },
  });
  const widgets = [
    counterWidget([
      {
        value: '',
        label: `Dataset Drift is ${result.datasetDrift ? '' : 'NOT '}detected. Dataset drift detection threshold is ${result.driftShare}`,
      },
    ]),
    counterWidget([
      { value: String(result.nColumns), label: 'Columns' },
      { value: String(result.nDrifted), label: 'Drifted Columns' },
      { value: result.share.toFixed(3), label: 'Share of Drifted Columns' },
    ]),
    ...counters.map((c) => counterWidget([c])),
  ];

  return {
    report: { items: [] },
    name: options.name ?? null,
    timestamp: naiveLocalIso(options.timestamp ?? new Date()),
    metadata: options.metadata ?? {},
    tags: options.tags ?? [],
    metric_results: metricResults,
    top_level_metrics: topLevel,
    widgets,
    tests_widgets: [],
  };
}

/** Writes an Evidently-loadable snapshot JSON (atomically). */
export async function writeEvidentlySnapshot(
  result: DriftResult,
  data: DriftData,
  path: string,
  options: SnapshotOptions = {},
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(buildEvidentlySnapshot(result, data, options), null, 1)}\n`);
}
