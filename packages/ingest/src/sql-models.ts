import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_SPLIT_RULE,
  ITEM_EVENT_TYPES,
  MAX_SESSION_LENGTH,
  MIN_SESSION_LENGTH,
  SESSION_GAP_MINUTES,
  SkiffError,
  SplitRuleSchema,
  sqlString,
  type SplitRule,
} from '@skiff/core';

/**
 * Transform models and checks as SQL files, dbt style: `models/<name>.sql` is one SELECT
 * materialised as the table `<name>`; `{{ ref('x') }}` names another model (and orders the run),
 * `{{ source('raw', 't') }}` a raw table, `{{ var('v') }}` a setting. `checks/NN-<name>.sql` each
 * return one row `(failures, detail)`. Both folders sit at the package root, outside src, so a
 * dbt-duckdb project could point at them; they are found from src (tests) and dist alike.
 */

/** The package root: src/ and dist/ are both one level below it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MODELS_DIR = fileURLToPath(new URL('../models/', import.meta.url));
export const CHECKS_DIR = fileURLToPath(new URL('../checks/', import.meta.url));

export type ModelVars = Record<string, string | number>;

export const DEFAULT_VARS: ModelVars = {
  min_session_length: MIN_SESSION_LENGTH,
  max_session_length: MAX_SESSION_LENGTH,
  session_gap_minutes: SESSION_GAP_MINUTES,
  /** The event types of a session's item sequence, as an SQL list. */
  item_event_types: ITEM_EVENT_TYPES.map(sqlString).join(', '),
  freshness_max_age_hours: 0,
  /** raw_events.not_future: events may be this many seconds later than the start of their load (clock skew). */
  max_clock_skew_seconds: 300,
  /** sessions.length_distribution fails above this share of sessions longer than max_session_length… */
  max_long_session_share: 0.05,
  /** …or above this share of sessions of length 1; it judges only from this many sessions on. */
  max_single_event_share: 0.95,
  min_sessions_for_distribution: 100,
  ...splitVars(DEFAULT_SPLIT_RULE),
};

/** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC: a DuckDB TIMESTAMP literal. */
const sqlTimestamp = (iso: string) => new Date(iso).toISOString().replace('T', ' ').replace('Z', '');

/**
 * The vars of models/splits.sql for a split rule. The rule is validated first, so only numbers and
 * ISO times reach the SQL text (every var is set, whichever rule is used).
 */
export function splitVars(input: SplitRule): ModelVars {
  const parsed = SplitRuleSchema.safeParse(input);
  if (!parsed.success)
    throw new SkiffError(
      'BAD_INPUT',
      `invalid split rule: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ')}`,
    );
  const r = parsed.data;
  const epoch = '1970-01-01 00:00:00';
  return {
    split_rule: r.rule,
    split_rule_json: JSON.stringify(r),
    test_days: r.rule === 'last-days' ? r.testDays : 1,
    validation_days: r.rule === 'last-days' ? (r.validationDays ?? r.testDays) : 1,
    test_start: r.rule === 'dates' ? sqlTimestamp(r.testStart) : epoch,
    validation_start: r.rule === 'dates' ? sqlTimestamp(r.validationStart) : epoch,
    test_fraction: r.rule === 'fraction' ? r.testFraction : 0.1,
    validation_fraction: r.rule === 'fraction' ? r.validationFraction : 0.1,
  };
}

export interface TransformModel {
  name: string;
  /** The SELECT with every `{{ … }}` resolved. */
  sql: string;
  /** Models this one refers to. */
  refs: string[];
  file: string;
}

export interface SqlCheck {
  name: string;
  sql: string;
  file: string;
}

const JINJA = /\{\{\s*(ref|source|var)\(\s*((?:'[^']*'|"[^"]*")(?:\s*,\s*(?:'[^']*'|"[^"]*"))*)\s*\)\s*\}\}/g;
const args = (s: string) => [...s.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? '');

/** Resolves the `{{ … }}` of one file; returns the SQL and the models it refers to. */
export function renderSql(text: string, vars: ModelVars, file = '(inline)'): { sql: string; refs: string[] } {
  const refs: string[] = [];
  const sql = text.replace(JINJA, (_m, fn: string, rawArgs: string) => {
    const a = args(rawArgs);
    if (fn === 'ref') {
      const name = a[0] ?? '';
      if (!refs.includes(name)) refs.push(name);
      return name;
    }
    if (fn === 'source') return a[1] ?? a[0] ?? '';
    const name = a[0] ?? '';
    const v = vars[name];
    if (v === undefined) throw new SkiffError('BAD_INPUT', `${file}: unknown var('${name}')`);
    return String(v);
  });
  if (sql.includes('{{')) throw new SkiffError('BAD_INPUT', `${file}: unsupported template expression`);
  return { sql: sql.trim().replace(/;\s*$/, ''), refs };
}

/** Orders models so that each comes after the models it refers to (ties: by name). */
export function topoSort<T extends { name: string; refs: string[] }>(models: T[]): T[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  for (const m of models)
    for (const r of m.refs)
      if (!byName.has(r)) throw new SkiffError('BAD_INPUT', `model ${m.name} refers to unknown model ${r}`);
  const pending = new Map(models.map((m) => [m.name, new Set(m.refs)]));
  const out: T[] = [];
  while (pending.size > 0) {
    const ready = [...pending]
      .filter(([, deps]) => deps.size === 0)
      .map(([n]) => n)
      .sort();
    const next = ready[0];
    if (next === undefined)
      throw new SkiffError(
        'BAD_INPUT',
        `models refer to each other in a cycle: ${[...pending.keys()].sort().join(', ')}`,
      );
    pending.delete(next);
    for (const deps of pending.values()) deps.delete(next);
    out.push(byName.get(next)!);
  }
  return out;
}

const sqlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();

/** Reads `models/*.sql` and returns them in run order. */
export function loadModels(vars: ModelVars = DEFAULT_VARS, dir = MODELS_DIR): TransformModel[] {
  return topoSort(
    sqlFiles(dir).map((f) => {
      const file = path.join(dir, f);
      return { name: f.slice(0, -4), file, ...renderSql(readFileSync(file, 'utf8'), vars, file) };
    }),
  );
}

/** Reads `checks/NN-<name>.sql` in file order. */
export function loadChecks(vars: ModelVars = DEFAULT_VARS, dir = CHECKS_DIR): SqlCheck[] {
  return sqlFiles(dir).map((f) => {
    const file = path.join(dir, f);
    return {
      name: f.slice(0, -4).replace(/^\d+-/, ''),
      file,
      sql: renderSql(readFileSync(file, 'utf8'), vars, file).sql,
    };
  });
}

/** The models with the default settings, in run order. */
export const MODELS: TransformModel[] = loadModels();
