import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RawEvent } from '@skiff/core';
import type { Catalogue } from './catalogue.js';
import { createRng, cumulative, type Rng } from './random.js';

/** Ways traffic can change after training, to exercise the monitor. */
export type DriftScenario =
  | { kind: 'popularity-shift' }
  | { kind: 'longer-sessions'; factor?: number }
  | { kind: 'category-shift'; category?: string };

export interface GenerateSessionsOptions {
  catalogue: Catalogue;
  sessions: number;
  seed: number;
  start: Date;
  days: number;
  drift?: DriftScenario;
  /** First session number, so that several calls never reuse a session id. */
  sessionIdOffset?: number;
  users?: number;
}

/** Relative traffic per hour of day (UTC): quiet nights, an evening peak. */
const HOURLY = [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 12, 10, 7, 4];
const HOURLY_CUM = cumulative(HOURLY);

/** Probability that the next item follows the current item's successor list. */
export const FOLLOW_PROBABILITY = 0.7;
const SUCCESSOR_CUM = cumulative([0.6, 0.3, 0.1]);

function popularityFor(catalogue: Catalogue, drift: DriftScenario | undefined): Float64Array {
  if (drift?.kind === 'popularity-shift') {
    // A different set of items becomes hot: popularity moves half the catalogue along.
    const n = catalogue.items.length;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = catalogue.popularity[(i + Math.floor(n / 2)) % n]!;
    return cumulative(w);
  }
  if (drift?.kind === 'category-shift') {
    const cat = drift.category ?? catalogue.categories[0]!;
    const w = catalogue.items.map((it, i) => catalogue.popularity[i]! * (it.category === cat ? 20 : 1));
    return cumulative(w);
  }
  return catalogue.popularityCum;
}

function sessionLength(rng: Rng, drift: DriftScenario | undefined): number {
  // Log-normal: many short sessions, a long tail (median ≈ 3.5, mean ≈ 5), capped at 50.
  const factor = drift?.kind === 'longer-sessions' ? (drift.factor ?? 2.5) : 1;
  return Math.min(50, Math.max(1, Math.round(Math.exp(1.25 + 0.75 * rng.normal()) * factor)));
}

/**
 * Generates the events of one session at a time (bounded memory). The next item follows the
 * current item's successors with probability 0.7, else jumps within the category or anywhere by
 * popularity: a sequence model can learn the successors, a popularity model cannot.
 */
export function* sessionEvents(options: GenerateSessionsOptions): Generator<RawEvent[]> {
  const { catalogue, sessions, seed, start, days, drift, sessionIdOffset = 0, users = Math.max(1, Math.floor(sessions / 3)) } = options;
  const rng = createRng(seed);
  const popCum = popularityFor(catalogue, drift);
  const n = catalogue.items.length;
  const startMs = start.getTime();
  for (let s = 0; s < sessions; s++) {
    const sessionId = `s${String(sessionIdOffset + s).padStart(7, '0')}`;
    const userId = `u${String(rng.int(users)).padStart(6, '0')}`;
    const day = rng.int(days);
    let t = startMs + day * 86_400_000 + rng.pick(HOURLY_CUM) * 3_600_000 + rng.int(3_600_000);
    const events: RawEvent[] = [];
    const push = (e: Omit<RawEvent, 'session_id' | 'timestamp' | 'user_id'>) => {
      events.push({ session_id: sessionId, user_id: userId, timestamp: new Date(t).toISOString(), ...e });
      t += 5_000 + Math.round(-Math.log(Math.max(rng.next(), 1e-9)) * 40_000);
    };
    let cur = rng.pick(popCum);
    if (rng.next() < 0.05) push({ event_type: 'search', item_id: null, query: catalogue.items[cur]!.category });
    const len = sessionLength(rng, drift);
    for (let i = 0; i < len; i++) {
      if (i > 0) {
        const u = rng.next();
        if (u < FOLLOW_PROBABILITY) cur = catalogue.successors[cur]![rng.pick(SUCCESSOR_CUM)]!;
        else if (u < 0.85) {
          const own = catalogue.byCategory[catalogue.categories.indexOf(catalogue.items[cur]!.category)]!;
          cur = own[rng.int(own.length)]!;
        } else cur = rng.pick(popCum);
      }
      const item = catalogue.items[cur % n]!;
      push({ event_type: rng.next() < 0.3 ? 'view' : 'click', item_id: item.id, category: item.category, price: item.price });
      if (rng.next() < 0.04) {
        push({ event_type: 'add_to_cart', item_id: item.id, category: item.category, price: item.price });
        if (rng.next() < 0.3) push({ event_type: 'purchase', item_id: item.id, category: item.category, price: item.price });
      }
    }
    yield events;
  }
}

/** All events of `sessions` sessions (for small runs and traffic replay). */
export function generateSessions(options: GenerateSessionsOptions): RawEvent[] {
  const out: RawEvent[] = [];
  for (const s of sessionEvents(options)) out.push(...s);
  return out;
}

export interface WriteRawLogsOptions extends GenerateSessionsOptions {
  dir: string;
  filePrefix?: string;
  maxEventsPerFile?: number;
}

/**
 * Writes NDJSON raw logs named after the seed (and drift), never overwriting a file with other
 * content: the raw area is append-only. Identical content already there is reported, not rewritten.
 */
export async function writeRawLogs(options: WriteRawLogsOptions): Promise<{ files: string[]; events: number; sessions: number; unchanged: number }> {
  const { dir, filePrefix = 'events', maxEventsPerFile = 200_000 } = options;
  await mkdir(dir, { recursive: true });
  const tag = `${filePrefix}-${options.seed}${options.drift ? `-${options.drift.kind}` : ''}`;
  const files: string[] = [];
  let unchanged = 0;
  let events = 0;
  let sessions = 0;
  let buf: string[] = [];
  const flush = async () => {
    if (buf.length === 0) return;
    const file = path.join(dir, `${tag}-${String(files.length + 1).padStart(4, '0')}.ndjson`);
    const body = buf.join('\n') + '\n';
    buf = [];
    const existing = await readFile(file).catch(() => null);
    if (existing) {
      const same = createHash('sha256').update(existing).digest('hex') === createHash('sha256').update(body).digest('hex');
      if (!same) throw new Error(`refusing to overwrite raw log ${file} with different content (raw logs are append-only; use another seed)`);
      unchanged++;
    } else {
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, body);
      await rename(tmp, file);
    }
    files.push(file);
  };
  for (const s of sessionEvents(options)) {
    sessions++;
    for (const e of s) buf.push(JSON.stringify(e));
    events += s.length;
    if (buf.length >= maxEventsPerFile) await flush();
  }
  await flush();
  return { files, events, sessions, unchanged };
}
