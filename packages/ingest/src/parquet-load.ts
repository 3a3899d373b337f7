import type { DuckDBConnection } from '@duckdb/node-api';
import { EVENT_TYPES, SkiffError, sqlIdentifier, sqlString } from '@skiff/core';
import { MAX_RAW_CHARS, refuse, validateRawObject, type QuarantineCode } from './contract.js';
import { accountedFor, fromEpoch, textTimestampSql, type FastLoadCounts } from './fast-load.js';
import { withLiteralPath } from './literal-path.js';
import type { ParsedRecord } from './readers.js';

/**
 * The Parquet reader: DuckDB's `read_parquet` reads the file (row `n`, counted from 1, is the record's
 * `line`), and the columns named like the raw contract's fields are mapped onto it. Like the NDJSON
 * path (`fast-load.ts`), one `INSERT … SELECT` moves the rows a SQL predicate finds *certainly* valid
 * into `raw_events`; every other row is handed, as the JS values the contract validator expects,
 * to `validateRawObject`, which gives the reason. So reasons are the other readers' reasons.
 *
 * Column types (matched case-insensitively; extra columns are ignored, a missing one is null):
 * - text fields (session_id, event_type, item_id, user_id, category, query): VARCHAR, or an integer
 *   type (taken as its decimal text, as in a CSV file); any other type is refused (`type`).
 * - timestamp: TIMESTAMP (any precision, with or without time zone) or DATE, truncated to ms;
 *   an integer or floating/decimal number (epoch s below 1e11, else ms); or VARCHAR (ISO-8601 or
 *   epoch digits), as `parseTimestamp` reads them.
 * - price: any numeric type; a non-finite value is refused (`value`), a VARCHAR one too (`type`).
 */

export const CONTRACT_FIELDS = [
  'session_id',
  'event_type',
  'item_id',
  'timestamp',
  'user_id',
  'price',
  'category',
  'query',
] as const;
type Field = (typeof CONTRACT_FIELDS)[number];
const TEXT_FIELDS = ['session_id', 'event_type', 'item_id', 'user_id', 'category', 'query'] as const;

/** How a Parquet column's DuckDB type is read. */
type Kind = 'text' | 'int' | 'float' | 'time' | 'other' | 'missing';

function kindOf(type: string): Kind {
  const t = type.toUpperCase();
  if (t === 'VARCHAR') return 'text';
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(t)) return 'int';
  if (t === 'FLOAT' || t === 'DOUBLE' || /^DECIMAL\(\d+,\d+\)$/.test(t)) return 'float';
  if (/^TIMESTAMP(_S|_MS|_NS)?$/.test(t) || t === 'TIMESTAMP WITH TIME ZONE' || t === 'DATE') return 'time';
  return 'other';
}

const ISO_FORMAT = '%Y-%m-%dT%H:%M:%S.%gZ';

interface Column {
  field: Field;
  /** The Parquet column (quoted), or null when the file has none. */
  sql: string | null;
  name: string | null;
  type: string | null;
  kind: Kind;
}

/** The file's columns matched to the contract's fields; refuses a file that cannot hold raw events. */
export async function parquetColumns(
  conn: DuckDBConnection,
  file: string,
  readable = file,
): Promise<{ columns: Column[]; all: string[] }> {
  let described: Array<{ column_name: string; column_type: string }>;
  try {
    described = (
      await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(readable)})`)
    ).getRowObjectsJson() as typeof described;
  } catch (err) {
    throw new SkiffError('BAD_INPUT', `${file} cannot be read as Parquet: ${(err as Error).message.split('\n')[0]}`);
  }
  const all = described.map((d) => d.column_name);
  const columns = CONTRACT_FIELDS.map((field): Column => {
    const hit =
      described.find((d) => d.column_name === field) ?? described.find((d) => d.column_name.toLowerCase() === field);
    return hit
      ? {
          field,
          sql: sqlIdentifier(hit.column_name),
          name: hit.column_name,
          type: hit.column_type,
          kind: kindOf(hit.column_type),
        }
      : { field, sql: null, name: null, type: null, kind: 'missing' };
  });
  const has = (f: Field) => columns.some((c) => c.field === f && c.kind !== 'missing');
  const lacking = [
    ...(['event_type', 'timestamp'] as const).filter((f) => !has(f)),
    ...(has('session_id') || has('user_id') ? [] : ['session_id (or user_id)']),
  ];
  if (lacking.length > 0)
    throw new SkiffError(
      'BAD_INPUT',
      `${file} is not a raw-event Parquet file: no column ${lacking.join(', ')} (columns: ${all.join(', ') || 'none'})`,
    );
  return { columns, all };
}

/** The value inserted into raw_events for a column (NULL when it has no usable value in SQL). */
function sqlValue(c: Column): string {
  if (c.sql === null)
    return c.field === 'price' ? 'NULL::DOUBLE' : c.field === 'timestamp' ? 'NULL::TIMESTAMP' : 'NULL::VARCHAR';
  if (c.field === 'timestamp') {
    if (c.kind === 'time') return `date_trunc('millisecond', CAST(${c.sql} AS TIMESTAMP))`;
    // Numbers go through their shortest text, the same digits the JS side reads.
    if (c.kind === 'int' || c.kind === 'float') return fromEpoch(`TRY_CAST(CAST(${c.sql} AS VARCHAR) AS DOUBLE)`);
    if (c.kind === 'text') return textTimestampSql(c.sql);
    return 'NULL::TIMESTAMP';
  }
  if (c.field === 'price')
    return c.kind === 'int' || c.kind === 'float' ? `TRY_CAST(CAST(${c.sql} AS VARCHAR) AS DOUBLE)` : 'NULL::DOUBLE';
  return c.kind === 'text' || c.kind === 'int' ? `CAST(${c.sql} AS VARCHAR)` : 'NULL::VARCHAR';
}

/** What the JS side reads for a column: its text (ISO-8601 for times), NULL for null. */
function jsText(c: Column): string {
  if (c.sql === null) return 'NULL::VARCHAR';
  if (c.field === 'timestamp' && c.kind === 'time') {
    const t = `CAST(${c.sql} AS TIMESTAMP)`;
    return `CASE WHEN isfinite(${t}) THEN strftime(${t}, '${ISO_FORMAT}') ELSE CAST(${t} AS VARCHAR) END`;
  }
  return `CAST(${c.sql} AS VARCHAR)`;
}

/**
 * The SQL that reads the file: `line`, the raw-event values (`v_*`), `ok` for rows certainly valid,
 * and `extra` expressions (over the file's columns). Only computed columns leave the inner SELECT, so
 * a file column called `line` or `ok` cannot clash with them.
 */
function mappedRowsSql(file: string, columns: Column[], extra: string[] = []): string {
  const col = (f: Field) => columns.find((c) => c.field === f)!;
  const types = EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  const filled = (f: Field) => `(v_${f} IS NOT NULL AND v_${f} <> '')`;
  const present = columns.filter((c) => c.sql !== null);
  // A present text value must be a non-empty string (empty ones are "absent" to the validator: JS decides).
  const textOk = TEXT_FIELDS.map((f) => {
    const c = col(f);
    if (c.kind === 'missing') return 'true';
    return c.kind === 'text' || c.kind === 'int' ? `(null_${f} OR v_${f} <> '')` : `null_${f}`;
  });
  const ts = col('timestamp');
  const tsOk =
    ts.kind === 'time'
      ? `(isfinite(v_timestamp) AND v_timestamp > TIMESTAMP '1970-01-01' AND v_timestamp < TIMESTAMP '10000-01-01')`
      : 'v_timestamp IS NOT NULL';
  const price = col('price');
  const priceOk =
    price.kind === 'missing'
      ? 'true'
      : price.kind === 'int' || price.kind === 'float'
        ? `(null_price OR isfinite(v_price))`
        : `null_price`;
  return `
  WITH r AS (
    SELECT file_row_number + 1 AS line, ${columns.map((c) => `${sqlValue(c)} AS v_${c.field}`).join(', ')},
           ${present.map((c) => `${c.sql} IS NULL AS null_${c.field}`).join(', ')}${extra.map((e) => `, ${e}`).join('')}
    FROM read_parquet(${sqlString(file)}, file_row_number = true))
  SELECT * EXCLUDE (${present.map((c) => `null_${c.field}`).join(', ')}), coalesce(${[
    ...textOk,
    `list_contains([${types}], v_event_type)`,
    `(${filled('session_id')} OR (v_session_id IS NULL AND ${filled('user_id')}))`,
    `(${filled('item_id')} OR (v_event_type = 'search' AND v_item_id IS NULL))`,
    tsOk,
    priceOk,
  ].join(' AND ')}, false) AS ok
  FROM r`;
}

/** The object `validateRawObject` judges for a row the SQL did not take, from the column texts. */
function rowObject(
  columns: Column[],
  texts: Record<string, string | null>,
): { obj: Record<string, unknown>; nonFinitePrice?: string } {
  const obj: Record<string, unknown> = {};
  let nonFinitePrice: string | undefined;
  for (const c of columns) {
    const v = texts[`j_${c.field}`] ?? null;
    const numeric = c.kind === 'int' || c.kind === 'float';
    // A value of a type the contract has no place for: the validator refuses it by its JSON type.
    const misfit = { parquetType: c.type };
    if (v === null || c.kind === 'missing') obj[c.field] = null;
    else if (c.field === 'timestamp') {
      if (numeric) {
        const n = Number(v);
        obj[c.field] = Number.isFinite(n) ? n : v; // "nan", "inf": refused as a timestamp, shown as is
      } else obj[c.field] = c.kind === 'other' ? misfit : v;
    } else if (c.field === 'price') {
      if (numeric) {
        const n = Number(v);
        if (Number.isFinite(n)) obj[c.field] = n;
        else {
          obj[c.field] = null;
          nonFinitePrice = v;
        }
      } else obj[c.field] = c.kind === 'text' ? v : misfit;
    } else obj[c.field] = c.kind === 'text' || c.kind === 'int' ? v : misfit;
  }
  return { obj, ...(nonFinitePrice !== undefined ? { nonFinitePrice } : {}) };
}

/**
 * Loads one Parquet file inside the caller's transaction. `sink` stores the records of the rows the
 * SQL did not take (the JS appenders). Every row of the file is counted: rows = loaded + quarantined.
 */
export async function loadParquetWithDuckDb(
  conn: DuckDBConnection,
  input: {
    loadId: string;
    file: string;
    sink: (records: AsyncIterable<ParsedRecord>) => Promise<FastLoadCounts>;
    onStaged?: (rows: number) => void;
    timings?: Record<string, number>;
  },
): Promise<FastLoadCounts> {
  // DuckDB reads `file` through a name without pattern characters; `file` itself is what is recorded.
  return withLiteralPath(input.file, (readable) => loadParquetFrom(conn, input, readable));
}

async function loadParquetFrom(
  conn: DuckDBConnection,
  input: Parameters<typeof loadParquetWithDuckDb>[1],
  readable: string,
): Promise<FastLoadCounts> {
  const { loadId, file } = input;
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    if (input.timings) input.timings[name] = (input.timings[name] ?? 0) + (now - t) / 1000;
    t = now;
  };
  const { columns, all } = await parquetColumns(conn, file, readable);
  const [meta] = (
    await conn.runAndReadAll(
      `SELECT coalesce(sum(num_rows), 0)::BIGINT AS n FROM parquet_file_metadata(${sqlString(readable)})`,
    )
  ).getRowObjectsJson() as Array<{ n: string }>;
  const total = Number(meta?.n ?? 0);
  input.onStaged?.(total);
  try {
    const inserted = (
      await conn.runAndReadAll(
        `INSERT INTO raw_events (load_id, source_file, line, session_id, event_type, item_id, ts, user_id, price, category, query)
         SELECT ${sqlString(loadId)}, ${sqlString(file)}, line, v_session_id, v_event_type, v_item_id, v_timestamp, v_user_id, v_price, v_category, v_query
         FROM (${mappedRowsSql(readable, columns)}) WHERE ok`,
      )
    ).getRows();
    const sqlLoaded = Number(inserted[0]?.[0] ?? 0);
    lap('validate+insert');
    // The raw text of a refused row: the row as JSON, every column of the file.
    const raw = `CAST(to_json(struct_pack(${all.map((c) => `${sqlIdentifier(c)} := ${sqlIdentifier(c)}`).join(', ')})) AS VARCHAR)`;
    const texts = columns.map((c) => `${jsText(c)} AS j_${c.field}`);
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE skiff_pq_rest AS
       SELECT line, raw, ${columns.map((c) => `j_${c.field}`).join(', ')}
       FROM (${mappedRowsSql(readable, columns, [`${raw} AS raw`, ...texts])}) WHERE NOT ok`,
    );
    lap('rest');
    async function* rest(): AsyncGenerator<ParsedRecord> {
      let after = 0;
      for (;;) {
        const page = (
          await conn.runAndReadAll(
            `SELECT line::DOUBLE AS line, * EXCLUDE (line) FROM skiff_pq_rest WHERE line > ${after} ORDER BY line LIMIT 50000`,
          )
        ).getRowObjectsJson() as Array<{ line: number; raw: string | null } & Record<string, string | null>>;
        if (page.length === 0) return;
        for (const row of page) {
          const rawText = (row.raw ?? '').slice(0, MAX_RAW_CHARS);
          const { obj, nonFinitePrice } = rowObject(columns, row);
          const v = validateRawObject(obj);
          if (v.ok && nonFinitePrice === undefined) yield { line: row.line, kind: 'event', event: v.event };
          else {
            const r: { code: QuarantineCode; reason: string } = v.ok
              ? refuse('value', `price "${nonFinitePrice}" is not a finite number`)
              : v;
            yield { line: row.line, kind: 'quarantine', raw: rawText, code: r.code, reason: r.reason };
          }
        }
        after = page[page.length - 1]!.line;
      }
    }
    const js = await input.sink(rest());
    lap('js');
    return accountedFor(file, sqlLoaded, js, total, 'rows');
  } finally {
    await conn.run(`DROP TABLE IF EXISTS skiff_pq_rest`);
  }
}
