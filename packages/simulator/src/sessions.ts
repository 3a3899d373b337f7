import type { RawEvent } from '@skiff/core';
import { queryFor, type Catalogue } from './catalogue.js';
import { createAliasTable, createRng, cumulative, type AliasTable, type Rng } from './random.js';

/** Ways traffic can change after training, to exercise the monitor. */
export type DriftScenario =
  /** Popularity is re-ranked by a seeded permutation: a different set of items becomes hot. */
  | { kind: 'popularity-shift' }
  /** Sessions get `factor` (default 2.5) times longer (still capped at `MAX_SESSION_LENGTH`). */
  | { kind: 'longer-sessions'; factor?: number }
  /** One category (default: the first) becomes `boost` (default 20) times as popular. */
  | { kind: 'category-shift'; category?: string; boost?: number };

export interface GenerateSessionsOptions {
  catalogue: Catalogue;
  sessions: number;
  seed: number;
  start: Date;
  /** Session starts are spread over this many whole days from `start` (UTC). */
  days: number;
  drift?: DriftScenario;
  /** First session number, so that several calls never reuse a session id. */
  sessionIdOffset?: number;
  /** Size of the pool of known users (default sessions / 3); a quarter of sessions are guests. */
  users?: number;
  /** Probability that the next item follows the current item's successors (default 0.7). */
  followProbability?: number;
}

/** Probability that the next item follows the current item's successor list. */
export const FOLLOW_PROBABILITY = 0.7;
export const MAX_SESSION_LENGTH = 50;
/** Relative traffic per hour of day (UTC): quiet nights, an evening peak. */
export const HOURLY_TRAFFIC = [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 12, 10, 7, 4] as const;
const HOURLY_CUM = cumulative(HOURLY_TRAFFIC);

const GUEST_SHARE = 0.25;
const SEARCH_ENTRY = 0.08;
const SEARCH_MID = 0.03;
const VIEW_SHARE = 0.3;
const CART = 0.05;
const CHECKOUT = 0.35;

/** Item popularity after drift. */
export function driftedPopularity(catalogue: Catalogue, drift: DriftScenario | undefined): Float64Array {
  const base = catalogue.popularity;
  const n = base.length;
  if (drift?.kind === 'popularity-shift') {
    const rng = createRng(catalogue.seed, 0xd1f7);
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = base[perm[i]!]!;
    return w;
  }
  if (drift?.kind === 'category-shift') {
    const c = catalogue.categories.indexOf(drift.category ?? catalogue.categories[0]!);
    if (c < 0) throw new RangeError(`category-shift: unknown category ${drift.category}`);
    const boost = drift.boost ?? 20;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = base[i]! * (catalogue.categoryOf[i] === c ? boost : 1);
    return w;
  }
  return base;
}

interface Traffic {
  global: AliasTable;
  perCategory: AliasTable[];
  categoryWeights: Float64Array;
  categoryCum: Float64Array;
  lengthFactor: number;
}

function trafficFor(catalogue: Catalogue, drift: DriftScenario | undefined): Traffic {
  const w = driftedPopularity(catalogue, drift);
  const categoryWeights = new Float64Array(catalogue.categories.length);
  for (let i = 0; i < w.length; i++) categoryWeights[catalogue.categoryOf[i]!]! += w[i]!;
  const perCategory = catalogue.byCategory.map((members) =>
    createAliasTable(members.length > 0 ? members.map((i) => w[i]!) : [1]),
  );
  const factor = drift?.kind === 'longer-sessions' ? (drift.factor ?? 2.5) : 1;
  if (!(factor > 0)) throw new RangeError('longer-sessions: factor must be positive');
  return {
    global: createAliasTable(w),
    perCategory,
    categoryWeights,
    categoryCum: cumulative(categoryWeights),
    lengthFactor: factor,
  };
}

/** Items viewed in one session: log-normal (median ≈ 3.5, mean ≈ 4.7), long tail, capped. */
function sessionLength(rng: Rng, factor: number): number {
  return Math.min(MAX_SESSION_LENGTH, Math.max(1, Math.round(rng.lognormal(1.25, 0.75) * factor)));
}

/** Seconds to milliseconds between two events: median ≈ 25 s, from 1 s up to 20 min. */
function gapMs(rng: Rng): number {
  return Math.round(Math.min(1_200, Math.max(1, rng.lognormal(3.2, 0.9))) * 1000);
}

function checkOptions(o: GenerateSessionsOptions): void {
  if (!Number.isInteger(o.sessions) || o.sessions < 0)
    throw new RangeError(`sessions must be a non-negative integer (got ${o.sessions})`);
  if (!Number.isInteger(o.days) || o.days < 1) throw new RangeError(`days must be a positive integer (got ${o.days})`);
  if (Number.isNaN(o.start.getTime())) throw new RangeError('start is not a valid date');
  const f = o.followProbability ?? FOLLOW_PROBABILITY;
  if (!(f >= 0 && f <= 1)) throw new RangeError('followProbability must be in [0, 1]');
}

/**
 * Generates the events of one session at a time (bounded memory: only the session start times
 * are held), in order of session start. The next item follows the current item's successors
 * with probability `followProbability`, else jumps by popularity — half of the time within the
 * current category: a sequence model can learn the successors, a popularity model cannot.
 */
export function* sessionEvents(options: GenerateSessionsOptions): Generator<RawEvent[]> {
  checkOptions(options);
  const { catalogue, sessions, seed, start, days, drift, sessionIdOffset = 0 } = options;
  const users = options.users ?? Math.max(1, Math.floor(sessions / 3));
  const follow = options.followProbability ?? FOLLOW_PROBABILITY;
  const sameCategory = follow + (1 - follow) / 2;
  const traffic = trafficFor(catalogue, drift);
  const { items, successors, successorWeights, byCategory, categoryOf } = catalogue;
  const successorCum = cumulative(successorWeights);
  const rng = createRng(seed, 0x5e55);

  // Session starts: a day, an hour by the daily cycle, a moment in that hour; sorted.
  const starts = new Float64Array(sessions);
  const startMs = start.getTime();
  for (let s = 0; s < sessions; s++)
    starts[s] = startMs + rng.int(days) * 86_400_000 + rng.pick(HOURLY_CUM) * 3_600_000 + rng.int(3_600_000);
  starts.sort();

  for (let s = 0; s < sessions; s++) {
    const sessionId = `s${String(sessionIdOffset + s).padStart(7, '0')}`;
    const userId = rng.next() < GUEST_SHARE ? null : `u${String(rng.int(users)).padStart(6, '0')}`;
    let t = starts[s]!;
    const events: RawEvent[] = [];
    const stamp = (): string => {
      const iso = new Date(t).toISOString();
      t += gapMs(rng);
      return iso;
    };
    const search = (category: number): void => {
      events.push({
        session_id: sessionId,
        event_type: 'search',
        item_id: null,
        timestamp: stamp(),
        user_id: userId,
        query: queryFor(catalogue, category, rng),
      });
    };
    const itemEvent = (type: 'view' | 'click' | 'add_to_cart' | 'purchase', i: number): void => {
      const item = items[i]!;
      events.push({
        session_id: sessionId,
        event_type: type,
        item_id: item.id,
        timestamp: stamp(),
        user_id: userId,
        price: item.price,
        category: item.category,
      });
    };
    const fromCategory = (c: number): number => byCategory[c]![traffic.perCategory[c]!.sample(rng)]!;

    let cur: number;
    if (rng.next() < SEARCH_ENTRY) {
      const c = rng.pick(traffic.categoryCum);
      search(c);
      cur = fromCategory(c);
    } else cur = traffic.global.sample(rng);
    const len = sessionLength(rng, traffic.lengthFactor);
    const cart: number[] = [];
    for (let k = 0; k < len; k++) {
      if (k > 0) {
        if (rng.next() < SEARCH_MID) {
          const c = rng.pick(traffic.categoryCum);
          search(c);
          cur = fromCategory(c);
        } else {
          const u = rng.next();
          if (u < follow) cur = successors[cur]![rng.pick(successorCum)]!;
          else if (u < sameCategory) cur = fromCategory(categoryOf[cur]!);
          else cur = traffic.global.sample(rng);
        }
      }
      itemEvent(rng.next() < VIEW_SHARE ? 'view' : 'click', cur);
      if (rng.next() < CART && !cart.includes(cur)) {
        itemEvent('add_to_cart', cur);
        cart.push(cur);
      }
    }
    if (cart.length > 0 && rng.next() < CHECKOUT) for (const i of cart) itemEvent('purchase', i);
    yield events;
  }
}

/** Every event, one session after another (for tests, small runs and traffic replay). */
export function* iterateEvents(options: GenerateSessionsOptions): Generator<RawEvent> {
  for (const s of sessionEvents(options)) yield* s;
}

/** All events of `sessions` sessions in one array. */
export function generateSessions(options: GenerateSessionsOptions): RawEvent[] {
  const out: RawEvent[] = [];
  for (const s of sessionEvents(options)) for (const e of s) out.push(e);
  return out;
}
