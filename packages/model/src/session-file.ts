import { readFile } from 'node:fs/promises';
import { SkiffError } from '@skiff/core';

/** Sessions of a split file, in SessionId order, with each session's last event time. */
export interface SessionTable {
  sessionIds: string[];
  sessions: string[][];
  /** Time of the last event of each session (the file's unit, unix seconds for YooChoose). */
  lastTimes: number[];
}

/**
 * Reads a session-rec / GRU4Rec split file (e.g. `yoochoose-clicks-100k_train_full.txt`):
 * tab-separated `SessionId ItemId Time` with a header line (columns found by name; without a
 * header the first three columns in that order). Events are sorted by (SessionId, Time) — ids
 * numerically when they are all numbers — and grouped into sessions. Repeated clicks are kept.
 */
export async function readSessionTable(file: string): Promise<SessionTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new SkiffError('BAD_INPUT', `cannot read session file ${file}: ${(e as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  let cols = { s: 0, i: 1, t: 2 };
  let start = 0;
  const head = lines[0]?.split('\t') ?? [];
  if (head.length && !head.some((h) => /^-?\d/.test(h))) {
    const find = (name: string) => head.findIndex((h) => h.trim().toLowerCase() === name.toLowerCase());
    cols = { s: find('SessionId'), i: find('ItemId'), t: find('Time') };
    if (cols.s < 0 || cols.i < 0 || cols.t < 0)
      throw new SkiffError(
        'BAD_INPUT',
        `${file}: header must name SessionId, ItemId and Time (got ${head.join(', ')})`,
      );
    start = 1;
  }
  const bySession = new Map<string, Array<{ item: string; time: number; n: number }>>();
  let n = 0;
  for (let l = start; l < lines.length; l++) {
    const line = lines[l]!;
    if (!line) continue;
    const f = line.split('\t');
    const s = f[cols.s];
    const item = f[cols.i];
    const time = Number(f[cols.t]);
    if (!s || !item || !Number.isFinite(time))
      throw new SkiffError('BAD_INPUT', `${file}:${l + 1}: expected SessionId, ItemId, Time`);
    let ev = bySession.get(s);
    if (!ev) bySession.set(s, (ev = []));
    ev.push({ item, time, n: n++ });
  }
  const ids = [...bySession.keys()];
  const numeric = ids.every((id) => /^-?\d+(\.\d+)?$/.test(id));
  ids.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: SessionTable = { sessionIds: ids, sessions: [], lastTimes: [] };
  for (const id of ids) {
    const ev = bySession.get(id)!.sort((a, b) => a.time - b.time || a.n - b.n);
    out.sessions.push(ev.map((e) => e.item));
    out.lastTimes.push(ev[ev.length - 1]!.time);
  }
  return out;
}

/** The sessions of a split file (see readSessionTable), as item-id lists. */
export async function readSessionFile(file: string): Promise<string[][]> {
  return (await readSessionTable(file)).sessions;
}
