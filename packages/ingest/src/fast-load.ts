import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { EVENT_TYPES, ISO_TIMESTAMP_PATTERN, sqlString } from '@skiff/core';
import { MAX_LINE_BYTES } from './contract.js';
import { withLiteralPath } from './literal-path.js';
import {
  CSV_NUMBER_PATTERN,
  csvHeader,
  isBlankLine,
  stagedLineParser,
  unreadableLine,
  type ParsedRecord,
  type StagedLineFormat,
} from './readers.js';

/**
 * The NDJSON and CSV load path that lets DuckDB do the reading:
 *
 * 1. `read_csv` with one VARCHAR column and no delimiter/quote reads every line of the file, in
 *    order, into a table; lines it cannot read (invalid UTF-8, over its 2 MB line limit) go to its
 *    rejects table with their line number. This runs on a second connection, outside the load's
 *    transaction, into an in-memory database attached for this file alone (see `stageLines`).
 * 2. The line count is checked against the one counted while hashing the file (which runs at the
 *    same time as step 1): if they differ the caller falls back to the JS reader, which is exact by
 *    construction. So are files with `\r` or NUL bytes (DuckDB treats them differently from the JS
 *    reader).
 * 3. One INSERT moves the lines that are *certainly* good straight into `raw_events`: a SQL predicate
 *    that accepts a subset of what `validateRawObject` accepts, with the same values (see
 *    `acceptedRowsSql` for NDJSON: a cheap exact test for the common shape, a slower one for the
 *    others; `acceptedCsvRowsSql` for CSV: unquoted lines of the header's width, cells without
 *    edge whitespace).
 * 4. Every other line (bad, blank, or merely unusual: leading spaces, escapes the SQL does not
 *    handle, tokens JSON.parse refuses but DuckDB's parser takes, quoted CSV cells…) goes through
 *    the JS reader's parser for the format and the JS validator, in file order,
 *    like the JS reader would. So reasons and accounting are the JS reader's, line for line, and
 *    `rows = loaded + quarantined + skipped` is checked before the file counts as loaded.
 */

export interface FastLoadCounts {
  rows: number;
  loaded: number;
  quarantined: number;
  skipped: number;
}

/** The lines of a file in `table` (file order), and the lines DuckDB's reader refused. */
export interface StagedLines {
  /** The attached in-memory database that holds the stage (`<db>.lines`). */
  db: string;
  table: string;
  rows: number;
  /** rowid of the first staged row (0 in a table of its own; kept general). */
  base: string;
  rejects: Array<{ line: number; type: string; raw: string }>;
}

/**
 * Reads every line of `file` into `<db>.lines`, in file order, on `stager`: a connection of the same
 * instance that is never inside the load's transaction, into an in-memory database attached for this
 * file. Why not a temp table of the loading connection: a table created inside an open transaction
 * is transaction-local storage, and DuckDB 1.5 scans that with one thread — the INSERT … SELECT over
 * it took 1.8 s for 1M lines against 1.0 s over a committed table (2 cores). The load's transaction
 * sees the stage because it first touches the new database after the stage was committed (DuckDB
 * starts a transaction per attached database on first use). Nothing of it reaches the warehouse file,
 * so a crash part-way still leaves no trace; `releaseStage` detaches it.
 */
export async function stageLines(stager: DuckDBConnection, file: string): Promise<StagedLines> {
  const db = `skiff_stage_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await stager.run(`ATTACH ':memory:' AS ${db}`);
  try {
    await stager.run(`DROP TABLE IF EXISTS skiff_rejects; DROP TABLE IF EXISTS skiff_rejects_scan`);
    // Through a name without pattern characters: DuckDB would read `x[1].ndjson` as `x1.ndjson`.
    await withLiteralPath(file, (readable) =>
      stager.run(`CREATE TABLE ${db}.lines AS SELECT raw FROM read_csv(${sqlString(readable)},
        columns = {'raw': 'VARCHAR'}, delim = chr(0), quote = '', escape = '', header = false, auto_detect = false,
        new_line = '\\n', strict_mode = false,
        store_rejects = true, rejects_table = 'skiff_rejects', rejects_scan = 'skiff_rejects_scan')`),
    );
    const [n] = (
      await stager.runAndReadAll(
        `SELECT count(*)::BIGINT AS n, coalesce(min(rowid), 0)::BIGINT AS base FROM ${db}.lines`,
      )
    ).getRowObjectsJson() as Array<{ n: string; base: string }>;
    const rejects = (
      await stager.runAndReadAll(
        `SELECT line::BIGINT AS line, any_value(error_type) AS type, any_value(csv_line) AS raw FROM skiff_rejects GROUP BY line ORDER BY line`,
      )
    ).getRowObjectsJson() as Array<{ line: string; type: string; raw: string | null }>;
    await stager.run(`DROP TABLE IF EXISTS skiff_rejects; DROP TABLE IF EXISTS skiff_rejects_scan`);
    return {
      db,
      table: `${db}.lines`,
      rows: Number(n?.n ?? 0),
      base: n?.base ?? '0',
      rejects: rejects.map((r) => ({ line: Number(r.line), type: r.type, raw: r.raw ?? '' })),
    };
  } catch (err) {
    await stager.run(`DETACH DATABASE IF EXISTS ${db}`).catch(() => undefined);
    throw err;
  }
}

/**
 * Frees a stage. The loading connection's transaction may still hold the stage database (it read
 * it); dropping the tables is safe under MVCC, and the database itself is detached once the load's
 * transaction has ended (`detach`).
 */
export async function releaseStage(stager: DuckDBConnection, staged: StagedLines, detach: boolean) {
  await stager.run(`DROP TABLE IF EXISTS ${staged.db}.lines; DROP TABLE IF EXISTS ${staged.db}.shift`);
  if (detach) await stager.run(`DETACH DATABASE IF EXISTS ${staged.db}`);
}

// Field access on the JSON text of each value (json_transform to JSON keeps it; as cheap as to
// VARCHAR): its first character gives the JSON type — 34 `"` string, 45 `-` or a digit number.
const isStr = (f: string) => `(c_${f} = 34)`;
const isNum = (f: string) => `(c_${f} = 45 OR c_${f} BETWEEN 48 AND 57)`;
/** A non-empty string (what `validateRawObject` does not treat as absent). */
const filled = (f: string) => `(${isStr(f)} AND strlen(j_${f}) > 2)`;
/**
 * The text of a JSON string: the JSON text without its quotes. Taken as the value only in rows that
 * are `ok`, where the field is a string (or absent: NULL) and both ways to be `ok` make sure its JSON
 * text has no escape, so this is the string JSON.parse gives.
 */
const unquoted = (f: string) => `j_${f}[2:-2]`;
const FIELDS = ['session_id', 'event_type', 'item_id', 'timestamp', 'user_id', 'price', 'category', 'query'];
const STRUCTURE = `{${FIELDS.map((f) => `"${f}":"JSON"`).join(',')}}`;

/**
 * Way 1 to be certain a line reads the same in DuckDB and in JSON.parse — the common case, one
 * addition per field: the line has no backslash, and its length in bytes is exactly that of
 * `{"key":value,…}` written with the values DuckDB found, one member per contract field present:
 *
 *   strlen(raw) = 1 + Σ over the fields present of (len(key) + 4 + strlen(value as JSON text)).
 *
 * Why this is enough: DuckDB parsed the line as an object. Without backslashes a string's JSON text is
 * its bytes between quotes, exactly as in the line (yyjson refuses raw control characters, as
 * JSON.parse does). Any other byte in the line — whitespace, a trailing comma, a second member with
 * the same key (JSON.parse keeps the last, DuckDB the first), a member that is not a contract field,
 * a `"category":null`, a comment — makes the line longer than the sum. The only way DuckDB's text can
 * be longer than what the line holds is a float it wrote back differently (`1e2` → `100.0`), so a
 * float (text with `.` or `e`; integers keep their digits) is only taken when the line holds
 * `"key":<that text>`: if that were another member, its length would exceed the difference. NaN and
 * Infinity (which DuckDB reads and JSON.parse refuses) can then only be a contract field's value, and
 * none of them accepts one. So: no other bytes, one member per key, and the same values in both parsers.
 */
const canonicalNumber = (f: string) =>
  `(NOT ${isNum(f)} OR NOT (contains(j_${f}, '.') OR contains(j_${f}, 'e')) OR contains(raw, '"${f}":' || j_${f}))`;
const EXACT_SHAPE = `(NOT contains(raw, '\\') AND strlen(raw) = 1 + ${FIELDS.map((f) => `coalesce(strlen(j_${f}) + ${f.length + 4}, 0)`).join(' + ')}
      AND ${canonicalNumber('price')} AND ${canonicalNumber('timestamp')})`;

/**
 * Way 2, for the lines of another shape (extra fields, whitespace, nulls, escapes): what DuckDB's
 * parser takes and JSON.parse refuses — trailing commas, NaN and infinities as values (lines that
 * merely contain such text in a string go to the JS validator too) — is ruled out, and so are
 * duplicate keys; the values' JSON texts must have no escapes. Slower, so only for the lines way 1
 * did not take.
 */
const LENIENT_JSON = `regexp_matches(raw, ',\\s*[\\]}]|[:,\\[]\\s*[-+]?(?i:nan|inf)')`;
const GENERAL_SHAPE = `(ascii(raw) = 123 AND NOT ${LENIENT_JSON}
      AND NOT contains(${['session_id', 'event_type', 'item_id', 'timestamp', 'user_id', 'category', 'query'].map((f) => `coalesce(j_${f}, '')`).join(' || ')}, '\\')
      AND list_unique(json_keys(raw)) = len(json_keys(raw)))`;

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
 * Every row of `from` (column `raw`; aliased `stage`, the line number is `lineExpr`) with its values
 * and `ok`: true only for rows that certainly pass the raw contract — never a row `validateRawObject`
 * would refuse or read differently. `ok` is one expression (coalesce of a conjunction) so that a
 * `WHERE ok` cannot be split and pushed below json_transform, which runs twice as slow on filtered
 * vectors; the CASE evaluates way 2 only for the parsed rows way 1 did not take (`json_keys` fails
 * on invalid JSON). Written for speed (this is most of a load's time after the write itself): values
 * are sliced out of the JSON texts without CASEs (the checks in `ok` make them right where it counts),
 * and the common timestamp shape is cast once.
 */
export function acceptedRowsSql(lineExpr: string, from: string): string {
  const types = EVENT_TYPES.map((t) => `'"${t}"'`).join(', ');
  return `
  -- No WHERE before the end: filtering first makes DuckDB 1.5 run json_transform on sliced vectors,
  -- about twice as slow as on all rows.
  -- json_valid first: try() alone re-runs a whole vector row by row when one row fails, and with 1 %
  -- of lines broken that is every vector (2.9 s instead of 0.16 s for 1M lines).
  WITH j AS (SELECT ${lineExpr} AS line, raw, try(CASE WHEN json_valid(raw) THEN json_transform(raw, '${STRUCTURE}') END) AS j FROM ${from} AS stage),
  f AS (SELECT line, raw, j IS NOT NULL AS parsed, ${FIELDS.map((f) => `CAST(j.${f} AS VARCHAR) AS j_${f}`).join(', ')} FROM j),
  c AS (SELECT *, ${FIELDS.map((f) => `ascii(j_${f}) AS c_${f}`).join(', ')}, ${unquoted('timestamp')} AS v_timestamp FROM f),
  -- Date.toISOString()'s shape, the common case: one plain cast (textTimestampSql would only add hour <= 23).
  i AS (SELECT *, ${isStr('timestamp')} AND v_timestamp LIKE '____-__-__T__:__:__.___Z' AND NOT contains(v_timestamp, 'T24') AS iso_z FROM c),
  z AS (SELECT *, CASE WHEN iso_z THEN TRY_CAST(v_timestamp AS TIMESTAMP) END AS ts_z FROM i),
  t AS (
    SELECT *, CASE
        WHEN iso_z THEN CASE WHEN ts_z > TIMESTAMP '1970-01-01' THEN ts_z END
        WHEN ${isNum('timestamp')} THEN ${fromEpoch('TRY_CAST(j_timestamp AS DOUBLE)')}
        WHEN ${isStr('timestamp')} THEN ${textTimestampSql('v_timestamp')}
      END AS ts,
      CASE WHEN ${isNum('price')} THEN TRY_CAST(j_price AS DOUBLE) END AS v_price
    FROM z)
  SELECT line, ${unquoted('session_id')} AS session_id, ${unquoted('event_type')} AS event_type, ${unquoted('item_id')} AS item_id, ts,
         ${unquoted('user_id')} AS user_id, v_price AS price, ${unquoted('category')} AS category, ${unquoted('query')} AS query,
         coalesce(parsed
           AND strlen(raw) <= ${MAX_LINE_BYTES}
           AND ${isStr('event_type')} AND list_contains([${types}], j_event_type)
           AND (${filled('session_id')} OR (j_session_id IS NULL AND ${filled('user_id')}))
           AND (${filled('item_id')} OR (j_event_type = '"search"' AND j_item_id IS NULL))
           AND ts IS NOT NULL
           AND (j_user_id IS NULL OR ${filled('user_id')})
           AND (j_category IS NULL OR ${filled('category')})
           AND (j_query IS NULL OR ${filled('query')})
           AND (j_price IS NULL OR isfinite(v_price))
           AND CASE WHEN NOT parsed THEN false WHEN ${EXACT_SHAPE} THEN true ELSE ${GENERAL_SHAPE} END, false) AS ok
  FROM t`;
}

/**
 * JS's String.prototype.trim whitespace (WhiteSpace and LineTerminator), as an RE2 class: the `csv`
 * reader trims every cell, so a line with such a character at a cell's edge is left to it.
 */
const JS_SPACE =
  '[\\t\\x{0B}\\f \\x{A0}\\x{FEFF}\\x{1680}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}\\n\\r\\x{2028}\\x{2029}]';

/**
 * `acceptedRowsSql` for the project's CSV (`session_id,event_type,…` with a header, columns in any
 * order): every staged line but the header with its values and `ok`, true only where the `csv`
 * reader would read the same event. That reader splits a line without `"` on every comma
 * (`line.split(',')`, which is what string_split does), trims each cell and takes an empty one as
 * absent; so `ok` asks for no `"` (quoted cells are left to it), exactly `width` fields and no
 * whitespace at a cell's edge — then a cell is its text, and the checks are the raw contract's on
 * strings: a known event type, a session or a user, an item unless a search, a timestamp
 * `parseTimestamp` takes (`textTimestampSql`), a price that matches the reader's number pattern and
 * is finite. `columns` is `csvHeader` of the header line, which is line 1.
 */
export function acceptedCsvRowsSql(
  lineExpr: string,
  from: string,
  header: { columns: ReadonlyMap<string, number>; width: number },
): string {
  const types = EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  const cell = (name: string) => {
    const i = header.columns.get(name);
    return i === undefined ? 'NULL::VARCHAR' : `nullif(c[${i + 1}], '')`;
  };
  const edge = `(^|,)${JS_SPACE}|${JS_SPACE}(,|$)`;
  return `
  WITH s AS (SELECT ${lineExpr} AS line, raw, string_split(raw, ',') AS c FROM ${from} AS stage),
  v AS (SELECT line, raw, len(c) AS n, ${['session_id', 'event_type', 'item_id', 'timestamp', 'user_id', 'price', 'category', 'query'].map((f) => `${cell(f)} AS v_${f}`).join(', ')} FROM s),
  t AS (SELECT *, ${textTimestampSql('v_timestamp')} AS ts,
          CASE WHEN regexp_full_match(v_price, '${CSV_NUMBER_PATTERN}') THEN TRY_CAST(v_price AS DOUBLE) END AS price
        FROM v)
  SELECT line, v_session_id AS session_id, v_event_type AS event_type, v_item_id AS item_id, ts, v_user_id AS user_id, price,
         v_category AS category, v_query AS query,
         coalesce(line > 1
           AND strlen(raw) <= ${MAX_LINE_BYTES}
           AND n = ${header.width}
           AND NOT contains(raw, '"')
           AND list_contains([${types}], v_event_type)
           AND (v_session_id IS NOT NULL OR v_user_id IS NOT NULL)
           AND (v_item_id IS NOT NULL OR v_event_type = 'search')
           AND ts IS NOT NULL
           AND (v_price IS NULL OR isfinite(price))
           AND NOT regexp_matches(raw, '${edge}'), false) AS ok
  FROM t`;
}

/** The reason DuckDB's reader refused a line (it never reaches the JSON checks). */
const rejectKind = (type: string): 'oversize' | 'utf8' | undefined =>
  type === 'INVALID ENCODING' || type === 'INVALID UNICODE'
    ? 'utf8'
    : type === 'LINE SIZE OVER MAXIMUM'
      ? 'oversize'
      : undefined;

/**
 * Loads one NDJSON or CSV file through DuckDB inside the caller's transaction (on `conn`). `sink`
 * stores the records of the lines the SQL did not take (the JS reader's appenders). Returns
 * `undefined` (having written nothing) when DuckDB's view of the lines differs from `expectedLines`,
 * or for a CSV whose line 1 is not its header (blank or unreadable: the JS reader takes the first
 * line it can read). The caller releases the stage.
 */
export async function loadLinesWithDuckDb(
  conn: DuckDBConnection,
  input: {
    format: StagedLineFormat;
    loadId: string;
    file: string;
    /** From `stageLines`. */
    staged: StagedLines;
    /** The connection that staged the lines (outside the transaction). */
    stager: DuckDBConnection;
    expectedLines: number;
    sink: (records: AsyncIterable<ParsedRecord>) => Promise<Omit<FastLoadCounts, 'rows'> & { rows: number }>;
    onStaged?: (rows: number) => void;
    timings?: Record<string, number>;
  },
): Promise<FastLoadCounts | undefined> {
  const { loadId, file, expectedLines, staged, stager } = input;
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    if (input.timings) input.timings[name] = (input.timings[name] ?? 0) + (now - t) / 1000;
    t = now;
  };
  if (staged.rows + staged.rejects.length !== expectedLines) return undefined;
  let header: ReturnType<typeof csvHeader> | undefined;
  let headerText = '';
  if (input.format === 'csv') {
    if (staged.rows === 0 || staged.rejects[0]?.line === 1) return undefined;
    const [first] = (
      await stager.runAndReadAll(`SELECT raw FROM ${staged.table} WHERE rowid = ${staged.base}`)
    ).getRowsJS() as Array<[string | null]>;
    headerText = first?.[0] ?? '';
    if (isBlankLine(headerText)) return undefined;
    header = csvHeader(headerText);
  }
  input.onStaged?.(staged.rows);
  // Line numbers by rowid arithmetic (no window function, which would run on one thread): the stage
  // keeps file order, minus the refused lines. With refused lines at r_0 < r_1 < …, stage row i is
  // line i + 1 + #{j : r_j - j - 1 <= i}.
  const idx = `(stage.rowid - ${staged.base})`;
  let lineExpr = `${idx} + 1`;
  if (staged.rejects.length > 0) {
    await stager.run(
      `CREATE TABLE ${staged.db}.shift AS SELECT unnest([${staged.rejects.map((r, j) => r.line - j - 1).join(', ')}]::BIGINT[]) AS p`,
    );
    lineExpr = `${idx} + 1 + (SELECT count(*) FROM ${staged.db}.shift WHERE p <= ${idx})`;
  }
  // The certainly-good lines go straight into raw_events (one parallel pipeline, no table between)…
  // (The warehouse runs loads without insertion order kept; see `load` in create-duckdb-warehouse.ts.)
  const inserted = (
    await conn.runAndReadAll(
      `INSERT INTO raw_events (load_id, source_file, line, session_id, event_type, item_id, ts, user_id, price, category, query)
       SELECT ${sqlString(loadId)}, ${sqlString(file)}, line, session_id, event_type, item_id, ts, user_id, price, category, query
       FROM (${header ? acceptedCsvRowsSql(lineExpr, staged.table, header) : acceptedRowsSql(lineExpr, staged.table)}) WHERE ok`,
    )
  ).getRows();
  const sqlLoaded = Number(inserted[0]?.[0] ?? 0);
  lap('validate+insert');
  // …and the others (if any) are the lines that did not arrive there. A CSV whose only such line is
  // its header (line 1, never taken) needs no search for them.
  const onlyHeader = header !== undefined && sqlLoaded === staged.rows - 1;
  const anyRest = sqlLoaded < staged.rows && !onlyHeader;
  if (anyRest)
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE skiff_rest AS
       SELECT s.line, s.raw FROM (SELECT ${lineExpr} AS line, raw FROM ${staged.table} AS stage) s
       ANTI JOIN (SELECT line FROM raw_events WHERE load_id = ${sqlString(loadId)} AND source_file = ${sqlString(file)}) r USING (line)`,
    );
  lap('rest');
  const rejects = staged.rejects;
  // In file order: a CSV parser must see its header (line 1, never taken by the SQL) first.
  const parse = stagedLineParser(input.format);
  async function* rest(): AsyncGenerator<ParsedRecord> {
    let r = 0;
    const refused = function* (before: number) {
      for (; r < rejects.length && rejects[r]!.line < before; r++) {
        const kind = rejectKind(rejects[r]!.type);
        yield kind ? unreadableLine(rejects[r]!.line, rejects[r]!.raw, kind) : parse(rejects[r]!.line, rejects[r]!.raw);
      }
    };
    if (onlyHeader) yield parse(1, headerText);
    let after = 0;
    while (anyRest) {
      const page = (
        await conn.runAndReadAll(
          `SELECT line::DOUBLE AS line, raw FROM skiff_rest WHERE line > ${after} ORDER BY line LIMIT 50000`,
        )
      ).getRowsJS() as Array<[number, string | null]>;
      if (page.length === 0) break;
      for (const [line, raw] of page) {
        yield* refused(line);
        yield parse(line, raw);
      }
      after = page[page.length - 1]![0];
    }
    yield* refused(Infinity);
  }
  try {
    const js = await input.sink(rest());
    lap('js');
    return accountedFor(file, sqlLoaded, js, expectedLines, 'lines');
  } finally {
    if (anyRest) await conn.run(`DROP TABLE IF EXISTS skiff_rest`);
  }
}

/**
 * The counts of a load whose rows went partly through SQL (`sqlLoaded`) and partly through the
 * JS sink; every one of the file's `expected` lines or rows must be accounted for.
 */
export function accountedFor(
  file: string,
  sqlLoaded: number,
  js: FastLoadCounts,
  expected: number,
  unit: 'lines' | 'rows',
): FastLoadCounts {
  const counts = {
    rows: sqlLoaded + js.rows,
    loaded: sqlLoaded + js.loaded,
    quarantined: js.quarantined,
    skipped: js.skipped,
  };
  if (counts.rows !== expected)
    throw new Error(`internal: ${file} has ${expected} ${unit} but ${counts.rows} were accounted for`);
  return counts;
}
