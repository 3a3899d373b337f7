import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sessionEvents, type DriftScenario, type GenerateSessionsOptions } from './sessions.js';

export interface WriteRawLogsOptions extends GenerateSessionsOptions {
  dir: string;
  filePrefix?: string;
  /** Files are cut at session boundaries, so a file holds at most this many events (unless one session is longer). */
  maxEventsPerFile?: number;
}

export interface WriteRawLogsResult {
  /** Every file of this run, in order (new or already present with identical bytes). */
  files: string[];
  events: number;
  sessions: number;
  /** How many of `files` were already there with identical content (not rewritten). */
  unchanged: number;
}

function driftTag(drift: DriftScenario | undefined): string {
  if (!drift) return '';
  if (drift.kind === 'category-shift' && drift.category) return `-${drift.kind}-${drift.category}`;
  return `-${drift.kind}`;
}

/** `events-<seed>[-<drift>]-0001.ndjson`: the deterministic name of the n-th file of a run. */
export function rawLogFileName(
  options: { seed: number; drift?: DriftScenario; filePrefix?: string },
  n: number,
): string {
  return `${options.filePrefix ?? 'events'}-${options.seed}${driftTag(options.drift)}-${String(n).padStart(4, '0')}.ndjson`;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Publishes `body` as `file` without ever replacing a file with other content. Returns false if identical bytes were already there. */
async function publish(file: string, body: Buffer): Promise<boolean> {
  const same = async (): Promise<boolean> => {
    const existing = await readFile(file).catch((e: unknown) => {
      if (errorCode(e) === 'ENOENT') return null;
      throw e;
    });
    if (existing === null) return false;
    if (existing.equals(body)) return true;
    throw new Error(
      `refusing to overwrite raw log ${file} with different content (raw logs are append-only; use another seed or filePrefix)`,
    );
  };
  if (await same()) return false;
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`; // not *.ndjson: readers never pick it up
  await writeFile(tmp, body, { flag: 'wx' });
  try {
    // A hard link fails if the target appeared meanwhile: no clobbering even under a race.
    await link(tmp, file);
  } catch (e) {
    if (errorCode(e) === 'EEXIST') {
      await unlink(tmp);
      if (await same()) return false;
    }
    if (errorCode(e) === 'EPERM' || errorCode(e) === 'ENOTSUP' || errorCode(e) === 'ENOSYS') {
      await rename(tmp, file); // file systems without hard links: checked above, atomic replace of nothing
      return true;
    }
    throw e;
  }
  await unlink(tmp);
  return true;
}

/**
 * Writes NDJSON raw logs (one event per line) named after the seed and drift, cut into files of
 * at most `maxEventsPerFile` events at session boundaries. The raw area is append-only: a file
 * is never overwritten with other content (that throws); identical content is reported as
 * unchanged. Memory holds one file's worth of lines.
 */
export async function writeRawLogs(options: WriteRawLogsOptions): Promise<WriteRawLogsResult> {
  const { dir, maxEventsPerFile = 200_000 } = options;
  if (!Number.isInteger(maxEventsPerFile) || maxEventsPerFile < 1)
    throw new RangeError('maxEventsPerFile must be a positive integer');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let unchanged = 0;
  let events = 0;
  let sessions = 0;
  let buf: string[] = [];
  const flush = async (): Promise<void> => {
    if (buf.length === 0) return;
    const file = path.join(dir, rawLogFileName(options, files.length + 1));
    const body = Buffer.from(buf.join('\n') + '\n', 'utf8');
    buf = [];
    if (!(await publish(file, body))) unchanged++;
    files.push(file);
  };
  for (const s of sessionEvents(options)) {
    if (buf.length > 0 && buf.length + s.length > maxEventsPerFile) await flush();
    sessions++;
    events += s.length;
    for (const e of s) buf.push(JSON.stringify(e));
  }
  await flush();
  return { files, events, sessions, unchanged };
}
