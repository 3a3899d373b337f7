import { open } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, type EventType } from '@skiff/core';
import { splitCsvLine } from '@skiff/node-io';
import {
  MAX_LINE_BYTES,
  MAX_RAW_CHARS,
  refuse,
  shown,
  validateRawObject,
  type NormalisedEvent,
  type QuarantineCode,
  type Refusal,
} from './contract.js';
import { readLines } from './lines.js';

export { type NormalisedEvent } from './contract.js';

/** The line readers, one per text format (docs/design.md, Raw events). */
export const LINE_FORMATS = ['ndjson', 'csv', 'yoochoose', 'diginetica', 'otto', 'coveo'] as const;
export type LineFormat = (typeof LINE_FORMATS)[number];
/** Every raw format: the line formats, and Parquet (read by DuckDB, `parquet-load.ts`). */
export const RAW_FORMATS = [...LINE_FORMATS, 'parquet'] as const;
export type RawFormat = (typeof RAW_FORMATS)[number];

/** Why a row was neither loaded nor quarantined: it carries no event by design. */
export type SkipReason = 'blank' | 'header' | 'unmapped' | 'no-events';

/**
 * One record of a raw file after parsing: an event, a refused row (with its reason) or a skipped
 * row. A line gives one record, except OTTO lines, which give one per event (same line number).
 */
export type ParsedRecord =
  | { line: number; kind: 'event'; event: NormalisedEvent }
  | { line: number; kind: 'quarantine'; raw: string; code: QuarantineCode; reason: string }
  | { line: number; kind: 'skip'; why: SkipReason };

export interface FormatDetection {
  format: RawFormat;
  /** How the format was chosen, for the load report and the logs. */
  detectedBy: string;
}

const JSON_EXT = new Set(['.ndjson', '.jsonl', '.json']);
/** Extensions a folder is searched for; `.txt`, `.tsv` and `.dat` files are taken only when their header is recognised. */
export const RAW_EXTENSIONS = ['.ndjson', '.jsonl', '.csv', '.tsv', '.txt', '.dat', '.parquet'];
/** The first bytes of every Parquet file. */
const PARQUET_MAGIC = 'PAR1';

async function firstLine(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_LINE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const nl = text.indexOf('\n');
    return (nl === -1 ? text : text.slice(0, nl)).replace(/^\uFEFF/, '').replace(/\r$/, '');
  } finally {
    await fh.close();
  }
}

const names = (line: string, sep: string) => line.split(sep).map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
const hasAll = (cols: string[], want: string[]) => want.every((w) => cols.includes(w));
const YOOCHOOSE_DAT = /^\d+,\d{4}-\d{2}-\d{2}T[\d:.]+Z,\d+,/;

/** Recognises a format from the first line of a file; undefined when nothing fits. */
export function detectFromHeader(head: string, ext: string): FormatDetection | undefined {
  if (JSON_EXT.has(ext) || head.startsWith('{')) {
    try {
      const o = JSON.parse(head) as unknown;
      if (
        o &&
        typeof o === 'object' &&
        'session' in o &&
        'events' in o &&
        Array.isArray((o as { events: unknown }).events)
      )
        return { format: 'otto', detectedBy: 'first line is a JSON object with session + events[]' };
    } catch {
      // A bad first line is quarantined like any other; the extension decides.
    }
    if (JSON_EXT.has(ext) || head.startsWith('{'))
      return { format: 'ndjson', detectedBy: `JSON lines (${ext || 'first line'})` };
  }
  const tab = names(head, '\t');
  const semi = names(head, ';');
  const comma = names(head, ',');
  for (const cols of [tab, comma])
    if (hasAll(cols, ['sessionid', 'itemid', 'time']))
      return { format: 'yoochoose', detectedBy: 'header SessionId, ItemId, Time' };
  if (YOOCHOOSE_DAT.test(head))
    return { format: 'yoochoose', detectedBy: 'RSC15 .dat row (session, ISO time, item, …)' };
  if (hasAll(semi, ['session_id', 'item_id', 'timeframe', 'eventdate']))
    return { format: 'diginetica', detectedBy: 'header session_id;user_id;item_id;timeframe;eventdate' };
  if (hasAll(comma, ['session_id_hash', 'product_action']))
    return { format: 'coveo', detectedBy: 'header session_id_hash, …, product_action' };
  if (
    hasAll(comma, ['session_id', 'event_type', 'timestamp']) ||
    (ext === '.csv' && hasAll(comma, ['user_id', 'event_type', 'timestamp']))
  )
    return { format: 'csv', detectedBy: 'CSV header with the raw contract columns' };
  if (ext === '.csv' && head === '') return { format: 'csv', detectedBy: 'empty .csv file' };
  return undefined;
}

/** Picks the reader: the requested one, or (`auto`) from the extension and the first line. */
export async function detectFormat(file: string, requested = 'auto'): Promise<FormatDetection> {
  if (requested !== 'auto') {
    if ((RAW_FORMATS as readonly string[]).includes(requested))
      return { format: requested as RawFormat, detectedBy: 'requested' };
    throw new SkiffError(
      'BAD_INPUT',
      `format "${requested}" is not supported (supported: auto, ${RAW_FORMATS.join(', ')})`,
    );
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') return { format: 'parquet', detectedBy: 'extension .parquet' };
  const head = await firstLine(file);
  if (head.startsWith(PARQUET_MAGIC)) return { format: 'parquet', detectedBy: 'Parquet magic bytes PAR1' };
  const d = detectFromHeader(head, ext);
  if (d) return d;
  throw new SkiffError(
    'BAD_INPUT',
    `cannot detect the format of ${file} (extension ${ext || 'none'}, first line ${JSON.stringify(head.slice(0, 80))}); pass a format (${RAW_FORMATS.join(', ')})`,
  );
}

type Out = ParsedRecord | ParsedRecord[];
type LineParser = (line: number, text: string) => Out;

const quarantine = (line: number, raw: string, r: Refusal): ParsedRecord => ({
  line,
  kind: 'quarantine',
  raw: raw.slice(0, MAX_RAW_CHARS),
  code: r.code,
  reason: r.reason,
});

function checked(line: number, raw: string, obj: unknown): ParsedRecord {
  const v = validateRawObject(obj);
  return v.ok ? { line, kind: 'event', event: v.event } : quarantine(line, raw, v);
}

/** A delimited format: the first line is the header (unless `noHeader` says otherwise). */
function delimited(
  sep: string,
  row: (cells: string[], col: Map<string, number>, line: number, text: string) => Out,
  noHeader?: (first: string) => Map<string, number> | undefined,
): LineParser {
  let col: Map<string, number> | undefined;
  let width = 0;
  return (line, text) => {
    if (!col) {
      const implicit = noHeader?.(text);
      if (!implicit) {
        ({ columns: col, width } = headerColumns(text, sep));
        return { line, kind: 'skip', why: 'header' };
      }
      col = implicit;
      width = -1;
    }
    const cells = splitCsvLine(text, sep);
    if (width > 0 && cells.length !== width)
      return quarantine(line, text, refuse('csv', `expected ${width} fields, got ${cells.length}`));
    return row(cells, col, line, text);
  };
}

const cell = (cells: string[], col: Map<string, number>, name: string): string | null => {
  const i = col.get(name);
  const v = i === undefined ? undefined : cells[i]?.trim();
  return v === undefined || v === '' ? null : v;
};

const ndjson: () => LineParser = () => (line, text) => {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return quarantine(line, text, refuse('json', 'not valid JSON'));
  }
  return checked(line, text, obj);
};

/** A CSV price cell the `csv` reader takes as a number (else it stays text, which the contract refuses). */
export const CSV_NUMBER_PATTERN = '-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?';
const NUMBER_RE = new RegExp(`^${CSV_NUMBER_PATTERN}$`);
const csv: () => LineParser = () =>
  delimited(',', (cells, col, line, text) => {
    const get = (k: string) => cell(cells, col, k);
    const price = get('price');
    return checked(line, text, {
      session_id: get('session_id'),
      event_type: get('event_type'),
      item_id: get('item_id'),
      timestamp: get('timestamp'),
      user_id: get('user_id'),
      price: price === null ? null : NUMBER_RE.test(price) ? Number(price) : price,
      category: get('category'),
      query: get('query'),
    });
  });

/** YooChoose / RSC15: session-rec's prepared `SessionId\tItemId\tTime` (epoch s) or the raw clicks/buys `.dat` (comma-separated, no header). */
const yoochoose: () => LineParser = () => {
  let buys = false;
  const parse = delimited(
    '\t',
    (cells, col, line, text) => {
      const get = (k: string) => cell(cells, col, k);
      const price = get('price');
      return checked(line, text, {
        session_id: get('sessionid'),
        event_type: buys ? 'purchase' : 'click',
        item_id: get('itemid'),
        timestamp: get('time'),
        price: price !== null && NUMBER_RE.test(price) ? Number(price) : null,
        category: get('category'),
      });
    },
    (first) => {
      if (!YOOCHOOSE_DAT.test(first.replaceAll('\t', ','))) return undefined;
      // clicks: session,timestamp,item,category   buys: session,timestamp,item,price,quantity
      buys = first.split('\t').length === 5;
      return new Map([
        ['sessionid', 0],
        ['time', 1],
        ['itemid', 2],
        [buys ? 'price' : 'category', 3],
      ]);
    },
  );
  return (line, text) => parse(line, text.includes('\t') ? text : text.replaceAll(',', '\t'));
};

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Diginetica (CIKM Cup 2016): time = eventdate (UTC midnight) + timeframe (ms); `NA` user = anonymous. */
const diginetica: () => LineParser = () =>
  delimited(';', (cells, col, line, text) => {
    const get = (k: string) => cell(cells, col, k);
    const date = get('eventdate');
    const frame = get('timeframe');
    let timestamp: number | string | null = null;
    if (date !== null && frame !== null) {
      const day = DATE_RE.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
      if (Number.isNaN(day) || !/^\d+$/.test(frame))
        return quarantine(
          line,
          text,
          refuse('timestamp', `eventdate "${shown(date)}" + timeframe "${shown(frame)}" is not a date + milliseconds`),
        );
      timestamp = day + Number(frame);
    }
    const user = get('user_id');
    return checked(line, text, {
      session_id: get('session_id'),
      event_type: 'view',
      item_id: get('item_id'),
      timestamp,
      user_id: user === 'NA' ? null : user,
    });
  });

const OTTO_TYPES: Record<string, EventType> = { clicks: 'click', carts: 'add_to_cart', orders: 'purchase' };
const idLike = (v: unknown) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && v !== '');

/** OTTO JSONL: `{session, events: [{aid, ts (ms), type}]}`; one line gives one record per event. */
const otto: () => LineParser = () => (line, text) => {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return quarantine(line, text, refuse('json', 'not valid JSON'));
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return quarantine(line, text, refuse('json', 'not a JSON object'));
  const { session, events } = obj as { session?: unknown; events?: unknown };
  if (session === undefined || session === null) return quarantine(line, text, refuse('missing', 'session'));
  if (!idLike(session)) return quarantine(line, text, refuse('type', 'session must be an integer or a string'));
  if (events === undefined || events === null) return quarantine(line, text, refuse('missing', 'events'));
  if (!Array.isArray(events)) return quarantine(line, text, refuse('type', 'events must be an array'));
  if (events.length === 0) return { line, kind: 'skip', why: 'no-events' };
  return events.map((e: unknown): ParsedRecord => {
    const raw = JSON.stringify(e) ?? 'undefined';
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      return quarantine(line, raw, refuse('json', 'event is not a JSON object'));
    const { aid, ts, type } = e as { aid?: unknown; ts?: unknown; type?: unknown };
    if (aid === undefined || aid === null) return quarantine(line, raw, refuse('missing', 'aid'));
    if (!idLike(aid)) return quarantine(line, raw, refuse('type', 'aid must be an integer or a string'));
    if (ts === undefined || ts === null) return quarantine(line, raw, refuse('missing', 'ts'));
    if (typeof ts !== 'number') return quarantine(line, raw, refuse('type', 'ts must be a number (epoch ms)'));
    if (typeof type !== 'string')
      return quarantine(
        line,
        raw,
        type === undefined ? refuse('missing', 'type') : refuse('type', 'type must be a string'),
      );
    const eventType = OTTO_TYPES[type];
    if (!eventType)
      return quarantine(line, raw, refuse('value', `type "${shown(type)}" is not one of clicks, carts, orders`));
    return checked(line, raw, {
      session_id: String(session),
      event_type: eventType,
      item_id: String(aid),
      timestamp: ts,
    });
  });
};

const COVEO_ACTIONS: Record<string, EventType | null> = {
  detail: 'view',
  click: 'click',
  add: 'add_to_cart',
  purchase: 'purchase',
  remove: null,
};
/**
 * Coveo browsing CSV (SIGIR eCom 2021 `browsing_train.csv`, and the 2020 shopper-intent release):
 * session_id_hash, event_type (event|pageview), product_action, product_sku_hash, server_timestamp_epoch_ms, hashed_url.
 * Product events map detail → view, click, add → add_to_cart, purchase; page views and `remove` carry no item event and are skipped.
 */
const coveo: () => LineParser = () =>
  delimited(',', (cells, col, line, text) => {
    const get = (k: string) => cell(cells, col, k);
    const kind = get('event_type');
    const action = get('product_action');
    if (kind === 'pageview' && action === null) return { line, kind: 'skip', why: 'unmapped' };
    if (kind !== 'event' && kind !== 'pageview')
      return quarantine(
        line,
        text,
        kind === null
          ? refuse('missing', 'event_type')
          : refuse('value', `event_type "${shown(kind)}" is not one of event, pageview`),
      );
    if (action === null) return quarantine(line, text, refuse('missing', 'product_action'));
    const mapped = COVEO_ACTIONS[action];
    if (mapped === undefined)
      return quarantine(
        line,
        text,
        refuse('value', `product_action "${shown(action)}" is not one of ${Object.keys(COVEO_ACTIONS).join(', ')}`),
      );
    if (mapped === null) return { line, kind: 'skip', why: 'unmapped' };
    const ts = get('server_timestamp_epoch_ms');
    return checked(line, text, {
      session_id: get('session_id_hash'),
      event_type: mapped,
      item_id: get('product_sku_hash') ?? get('product_skus_hash'),
      timestamp: ts !== null && /^\d+$/.test(ts) ? Number(ts) : ts,
    });
  });

const PARSERS: Record<LineFormat, () => LineParser> = { ndjson, csv, yoochoose, diginetica, otto, coveo };
const BLANK_RE = /^[ \t]*$/;

/** Streams a raw file as records; never throws on a bad row (it becomes a quarantine record). */
const OVERSIZE = refuse('oversize', `line longer than ${MAX_LINE_BYTES} bytes`);
const BAD_UTF8 = refuse('utf8', 'line is not valid UTF-8');
const isBlank = (text: string) => {
  const c = text.charCodeAt(0);
  return text.length === 0 || ((c === 32 || c === 9) && BLANK_RE.test(text));
};

/** Streams a raw file as records; never throws on a bad row (it becomes a quarantine record). */
export async function* readRawFile(file: string, format: RawFormat): AsyncGenerator<ParsedRecord> {
  if (format === 'parquet')
    throw new SkiffError('BAD_INPUT', `${file}: Parquet files are read by DuckDB (warehouse.load), not line by line`);
  const parse = PARSERS[format]();
  for await (const l of readLines(file)) {
    if ('bad' in l) {
      yield quarantine(l.line, l.raw, l.bad === 'oversize' ? OVERSIZE : BAD_UTF8);
      continue;
    }
    if (isBlank(l.text)) {
      yield { line: l.line, kind: 'skip', why: 'blank' };
      continue;
    }
    const out = parse(l.line, l.text);
    if (Array.isArray(out)) yield* out;
    else yield out;
  }
}

/**
 * The formats whose lines the DuckDB load path reads (fast-load.ts): one record per line, so a line
 * parser gives exactly one record.
 */
export type StagedLineFormat = 'ndjson' | 'csv';

/**
 * Parses the lines of one file that were split and decoded elsewhere (the DuckDB load path hands
 * over, in file order, the lines its SQL did not accept): for each, the record `readRawFile` gives.
 * Stateful like the reader (a CSV's first non-blank line is its header), so one per file.
 */
export function stagedLineParser(format: StagedLineFormat): (line: number, text: string | null) => ParsedRecord {
  const parse = PARSERS[format]();
  return (line, text) => {
    if (text === null || isBlank(text)) return { line, kind: 'skip', why: 'blank' };
    if (text.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(text) > MAX_LINE_BYTES)
      return quarantine(line, text, OVERSIZE);
    return parse(line, text) as ParsedRecord;
  };
}

/** True for a line `readRawFile` skips as blank. */
export { isBlank as isBlankLine };

/**
 * The columns of a CSV header line as the `csv` reader maps them: name → 0-based index (trimmed,
 * lower-cased, outer quotes dropped; the last of duplicate names wins) and the number of fields a
 * row must have.
 */
export const csvHeader = (text: string) => headerColumns(text, ',');

function headerColumns(text: string, sep: string): { columns: Map<string, number>; width: number } {
  const hs = names(text, sep);
  return { columns: new Map(hs.map((h, i) => [h, i])), width: hs.length };
}

/** A line the reader could not decode or that is too long, as a quarantine record. */
export function unreadableLine(line: number, raw: string, why: 'oversize' | 'utf8'): ParsedRecord {
  return quarantine(line, raw, why === 'oversize' ? OVERSIZE : BAD_UTF8);
}
