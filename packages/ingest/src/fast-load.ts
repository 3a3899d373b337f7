import type { DuckDBConnection } from '@duckdb/node-api';
import { EVENT_TYPES } from '@skiff/core';
import { ISO_TIMESTAMP_PATTERN, MAX_LINE_BYTES } from './contract.js';
import { parseNdjsonLine, unreadableLine, type ParsedRecord } from './readers.js';

/**
 * The NDJSON load path that lets DuckDB do the reading (issue #3, item 5):
 *
 * 1. `read_csv` with one VARCHAR column and no delimiter/quote reads every line of the file, in
 *    order, into a temp table; lines it cannot read (invalid UTF-8, over its 2 MB line limit) go to
 *    its rejects table with their line number.
 * 2. The line count is checked against the one counted while hashing the file (which runs at the
 *    same time as step 1): if they differ the
 *    caller falls back to the JS reader, which is exact by construction. So are files with `\r` or
 *    NUL bytes (DuckDB treats them differently from the JS reader).
 * 3. One INSERT moves the lines that are *certainly* good straight into `raw_events`: a SQL predicate
 *    that accepts a subset of what `validateRawObject` accepts, with the same values.
 * 4. Every other line (bad, blank, or merely unusual: leading spaces, escapes the SQL does not
 *    handle, tokens JSON.parse refuses but DuckDB's parser takes…) goes through the JS validator,
 *    like the JS reader would. So reasons and accounting are the JS reader's, line for line.
 */

export interface FastLoadCounts {
  rows: number;
  loaded: number;
  quarantined: number;
  skipped: number;
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The lines of a file in `skiff_stage` (file order), and the lines DuckDB's reader refused. */
export interface StagedLines {
  rows: number;
  /** rowid of the first staged row (inside a transaction row ids start at a large base, not 0). */
  base: string;
  rejects: Array<{ line: number; type: string; raw: string }>;
}

/** Reads every line of `file` into the temp table `skiff_stage`, in file order. */
export async function stageLines(conn: DuckDBConnection, file: string): Promise<StagedLines> {
  await conn.run(`DROP TABLE IF EXISTS skiff_rejects; DROP TABLE IF EXISTS skiff_rejects_scan`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE skiff_stage AS SELECT raw FROM read_csv(${q(file)},
      columns = {'raw': 'VARCHAR'}, delim = chr(0), quote = '', escape = '', header = false, auto_detect = false,
      new_line = '\\n', strict_mode = false,
      store_rejects = true, rejects_table = 'skiff_rejects', rejects_scan = 'skiff_rejects_scan')`);
  const [n] = (await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n, coalesce(min(rowid), 0)::BIGINT AS base FROM skiff_stage`)).getRowObjectsJson() as Array<{ n: string; base: string }>;
  const rejects = (
    await conn.runAndReadAll(`SELECT line::BIGINT AS line, any_value(error_type) AS type, any_value(csv_line) AS raw FROM skiff_rejects GROUP BY line ORDER BY line`)
  ).getRowObjectsJson() as Array<{ line: string; type: string; raw: string | null }>;
  return { rows: Number(n?.n ?? 0), base: n?.base ?? '0', rejects: rejects.map((r) => ({ line: Number(r.line), type: r.type, raw: r.raw ?? '' })) };
}

export async function dropStage(conn: DuckDBConnection) {
  await conn.run(
    `DROP TABLE IF EXISTS skiff_stage; DROP TABLE IF EXISTS skiff_shift; DROP TABLE IF EXISTS skiff_rest; DROP TABLE IF EXISTS skiff_ok; DROP TABLE IF EXISTS skiff_rejects; DROP TABLE IF EXISTS skiff_rejects_scan`,
  );
}

// Field access on the JSON text of each value (json_transform to JSON keeps it): its first character
// gives the JSON type — 34 `"` string, 45 `-` or a digit number — without parsing it again.
const isStr = (f: string) => `(c_${f} = 34)`;
const isNum = (f: string) => `(c_${f} = 45 OR c_${f} BETWEEN 48 AND 57)`;
/** The text of a JSON string value; strings with escapes are left to the JS validator. */
const str = (f: string) => `CASE WHEN ${isStr(f)} AND NOT contains(j_${f}, '\\') THEN j_${f}[2:-2] END`;
/** A non-empty string (what `validateRawObject` does not treat as absent). */
const filled = (f: string) => `(v_${f} IS NOT NULL AND v_${f} <> '')`;
const FIELDS = ['session_id', 'event_type', 'item_id', 'timestamp', 'user_id', 'price', 'category', 'query'];
const STRUCTURE = `{${FIELDS.map((f) => `"${f}":"JSON"`).join(',')}}`;
/**
 * What DuckDB's JSON parser takes and JSON.parse refuses: trailing commas, NaN and infinities (any
 * case). Lines that merely contain these letters go to the JS validator too; plain `contains` is
 * several times cheaper than a case-insensitive regex here.
 */
const LENIENT_JSON = `(regexp_matches(raw, ',\\s*[\\]}]') OR ${['nan', 'NaN', 'NAN', 'Nan', 'inf', 'Inf', 'INF'].map((w) => `contains(raw, '${w}')`).join(' OR ')})`;

/** Epoch s (< 1e11) or ms as in `parseTimestamp`; 8.64e15 ms is Date's limit. */
export const fromEpoch = (n: string) => {
  const ms = `round(CASE WHEN ${n} < 1e11 THEN ${n} * 1000 ELSE ${n} END)`;
  return `CASE WHEN ${n} > 0 AND ${ms} < 8.64e15 THEN make_timestamp(CAST(${ms} AS BIGINT) * 1000) END`;
};

/**
 * The timestamp `parseTimestamp` gives for a text value (`text`, a VARCHAR expression), as a
 * TIMESTAMP truncated to ms; NULL when it would refuse it (or for NULL).
 */
export function textTimestampSql(text: string): string {
  // TIMESTAMP casts ignore an offset, TIMESTAMPTZ casts (ICU) are slower: the latter only when there is one.
  const hasOffset = `(contains(${text}, '+') OR contains(${text}[11:], '-'))`;
  const iso = `CASE WHEN ${hasOffset} THEN CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP) ELSE TRY_CAST(${text} AS TIMESTAMP) END`;
  return `CASE
        WHEN ${text} IS NULL THEN NULL
        -- Date.toISOString()'s shape, the common case: a plain cast (the pattern below would only add hour <= 23).
        WHEN ${text} LIKE '____-__-__T__:__:__.___Z' AND NOT contains(${text}, 'T24') THEN
          CASE WHEN TRY_CAST(${text} AS TIMESTAMP) > TIMESTAMP '1970-01-01' THEN TRY_CAST(${text} AS TIMESTAMP) END
        WHEN regexp_full_match(${text}, '\\d+(\\.\\d+)?') THEN ${fromEpoch(`TRY_CAST(${text} AS DOUBLE)`)}
        WHEN regexp_full_match(${text}, '${ISO_TIMESTAMP_PATTERN}') AND ${iso} > TIMESTAMP '1970-01-01'
          THEN date_trunc('millisecond', ${iso})
      END`;
}

/**
 * Every row of `from` (columns `raw`, and the line number as `lineExpr`) with its values and `ok`: true
 * only for rows that certainly pass the raw contract — never a row `validateRawObject` would refuse
 * or read differently. `ok` is one expression (coalesce of a conjunction) so that a `WHERE ok` cannot
 * be split and pushed below json_transform, which runs twice as slow on filtered vectors.
 */
export function acceptedRowsSql(lineExpr: string, from = 'skiff_stage'): string {
  const types = EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  return `
  -- No WHERE before the end: filtering first makes DuckDB 1.5 run json_transform on sliced vectors,
  -- about twice as slow as on all rows.
  WITH j AS (
    SELECT ${lineExpr} AS line, try(json_transform(raw, '${STRUCTURE}')) AS j,
           ascii(raw) = 123 AND strlen(raw) <= ${MAX_LINE_BYTES} AND NOT ${LENIENT_JSON} AS plain
    FROM ${from}),
  f AS (SELECT line, plain, j IS NOT NULL AS parsed, ${FIELDS.map((f) => `CAST(j.${f} AS VARCHAR) AS j_${f}`).join(', ')} FROM j),
  c AS (SELECT *, ${FIELDS.map((f) => `ascii(j_${f}) AS c_${f}`).join(', ')} FROM f),
  v AS (
    SELECT *, ${['session_id', 'event_type', 'item_id', 'user_id', 'category', 'query', 'timestamp'].map((f) => `${str(f)} AS v_${f}`).join(', ')},
      CASE WHEN ${isNum('price')} THEN TRY_CAST(j_price AS DOUBLE) END AS v_price
    FROM c),
  t AS (
    SELECT *, CASE
        WHEN ${isNum('timestamp')} THEN ${fromEpoch('TRY_CAST(j_timestamp AS DOUBLE)')}
        ELSE ${textTimestampSql('v_timestamp')}
      END AS ts
    FROM v)
  SELECT line, v_session_id AS session_id, v_event_type AS event_type, v_item_id AS item_id, ts, v_user_id AS user_id,
         v_price AS price, v_category AS category, v_query AS query,
         coalesce(plain AND parsed
           AND list_contains([${types}], v_event_type)
           AND (${filled('session_id')} OR (j_session_id IS NULL AND ${filled('user_id')}))
           AND (${filled('item_id')} OR (v_event_type = 'search' AND j_item_id IS NULL))
           AND ts IS NOT NULL
           AND (j_user_id IS NULL OR ${filled('user_id')})
           AND (j_category IS NULL OR ${filled('category')})
           AND (j_query IS NULL OR ${filled('query')})
           AND (j_price IS NULL OR isfinite(v_price)), false) AS ok
  FROM t`;
}

/** The reason DuckDB's reader refused a line (it never reaches the JSON checks). */
const rejectKind = (type: string): 'oversize' | 'utf8' | undefined =>
  type === 'INVALID ENCODING' || type === 'INVALID UNICODE' ? 'utf8' : type === 'LINE SIZE OVER MAXIMUM' ? 'oversize' : undefined;

/**
 * Loads one NDJSON file through DuckDB inside the caller's transaction. `sink` stores the records of
 * the lines the SQL did not take (the JS reader's appenders). Returns `undefined` (having written
 * nothing) when DuckDB's view of the lines differs from `expectedLines`.
 */
export async function loadNdjsonWithDuckDb(
  conn: DuckDBConnection,
  input: {
    loadId: string;
    file: string;
    /** From `stageLines`; the stage is dropped in every case. */
    staged: StagedLines;
    expectedLines: number;
    sink: (records: AsyncIterable<ParsedRecord>) => Promise<Omit<FastLoadCounts, 'rows'> & { rows: number }>;
    onStaged?: (rows: number) => void;
    timings?: Record<string, number>;
  },
): Promise<FastLoadCounts | undefined> {
  const { loadId, file, expectedLines } = input;
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    if (input.timings) input.timings[name] = (input.timings[name] ?? 0) + (now - t) / 1000;
    t = now;
  };
  const { staged } = input;
  if (staged.rows + staged.rejects.length !== expectedLines) {
    await dropStage(conn);
    return undefined;
  }
  input.onStaged?.(staged.rows);
  try {
    // Line numbers: the stage keeps file order, minus the refused lines. With refused lines at r_0 < r_1 < …,
    // stage row i is line i + 1 + #{j : r_j - j - 1 <= i}.
    const idx = `(rowid - ${staged.base})`;
    let lineExpr = `${idx} + 1`;
    if (staged.rejects.length > 0) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE skiff_shift AS SELECT unnest([${staged.rejects.map((r, j) => r.line - j - 1).join(', ')}]::BIGINT[]) AS p`);
      lineExpr = `${idx} + 1 + (SELECT count(*) FROM skiff_shift WHERE p <= skiff_stage.rowid - ${staged.base})`;
    }
    // The certainly-good lines go straight into raw_events (one parallel pipeline)…
    const inserted = (
      await conn.runAndReadAll(
        `INSERT INTO raw_events (load_id, source_file, line, session_id, event_type, item_id, ts, user_id, price, category, query)
         SELECT ${q(loadId)}, ${q(file)}, line, session_id, event_type, item_id, ts, user_id, price, category, query
         FROM (${acceptedRowsSql(lineExpr)}) WHERE ok`,
      )
    ).getRows();
    const sqlLoaded = Number(inserted[0]?.[0] ?? 0);
    lap('validate+insert');
    // …and the others (if any) are the lines that did not arrive there.
    const anyRest = sqlLoaded < staged.rows;
    if (anyRest)
      await conn.run(
        `CREATE OR REPLACE TEMP TABLE skiff_rest AS
         SELECT s.line, s.raw FROM (SELECT ${lineExpr} AS line, raw FROM skiff_stage) s
         ANTI JOIN (SELECT line FROM raw_events WHERE load_id = ${q(loadId)} AND source_file = ${q(file)}) r USING (line)`,
      );
    lap('rest');
    const rejects = staged.rejects;
    async function* rest(): AsyncGenerator<ParsedRecord> {
      for (const r of rejects) {
        const kind = rejectKind(r.type);
        yield kind ? unreadableLine(r.line, r.raw, kind) : parseNdjsonLine(r.line, r.raw);
      }
      let after = 0;
      while (anyRest) {
        const page = (
          await conn.runAndReadAll(`SELECT line::DOUBLE AS line, raw FROM skiff_rest WHERE line > ${after} ORDER BY line LIMIT 50000`)
        ).getRowsJS() as Array<[number, string | null]>;
        if (page.length === 0) return;
        for (const [line, raw] of page) yield parseNdjsonLine(line, raw);
        after = page[page.length - 1]![0];
      }
    }
    const js = await input.sink(rest());
    lap('js');
    const counts = { rows: sqlLoaded + js.rows, loaded: sqlLoaded + js.loaded, quarantined: js.quarantined, skipped: js.skipped };
    if (counts.rows !== expectedLines) throw new Error(`internal: ${file} has ${expectedLines} lines but ${counts.rows} were accounted for`);
    return counts;
  } finally {
    await dropStage(conn);
  }
}
