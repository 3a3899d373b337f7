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
  /** How shoppers move through a session (defaults: `SESSION_BEHAVIOUR`, calibrated against YooChoose). */
  behaviour?: Partial<SessionBehaviour>;
}

/**
 * How a shopper moves from one item to the next. Every step after the first item is one of:
 * a repeat click on the current item (`repeat`); a return to an earlier item of the session
 * (`revisit`); one of the current item's successors (`follow`), chosen with the session's theme
 * in mind; or else a jump to a popular item of the session's intent. The intent is drawn once per
 * session (a category, with probability `secondCategory` a second one, and a theme) and persists,
 * so the items before the last one tell what comes next: a first-order model (SR, Markov) sees
 * only the last item, a model that reads the whole session (GRU4Rec, V-SKNN) sees the intent.
 */
export interface SessionBehaviour {
  repeat: number;
  revisit: number;
  follow: number;
  /** Share of jumps that ignore the intent (a popular item anywhere: an ad, the front page). */
  offIntent: number;
  /** Probability that the intent has a second category (two kinds of things in one visit). */
  secondCategory: number;
  /** Share of intent jumps that stay within the session's theme. */
  onTheme: number;
  /** Weight factor of successors that share the session's theme. */
  themeBoost: number;
  /** Items per session: 1 + floor(lognormal(lengthMu, lengthSigma)), at most MAX_SESSION_LENGTH. */
  lengthMu: number;
  lengthSigma: number;
}

/** Defaults, calibrated against the YooChoose sample (README: Calibration). */
export const SESSION_BEHAVIOUR: Readonly<SessionBehaviour> = {
  repeat: 0.12,
  revisit: 0.03,
  follow: 0.3,
  offIntent: 0.15,
  secondCategory: 0.7,
  onTheme: 0.95,
  themeBoost: 10,
  lengthMu: -0.1,
  lengthSigma: 1.15,
};

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
  /** Per category × theme: the theme's items of the category (`themed[c * themes + t]`). */
  themed: Array<{ members: number[]; table: AliasTable } | null>;
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
  const themed = catalogue.byCategory.flatMap((members) =>
    Array.from({ length: catalogue.themes }, (_, t) => {
      const own = members.filter((i) => catalogue.themeOf[i] === t);
      return own.length > 0 ? { members: own, table: createAliasTable(own.map((i) => w[i]!)) } : null;
    }),
  );
  const factor = drift?.kind === 'longer-sessions' ? (drift.factor ?? 2.5) : 1;
  if (!(factor > 0)) throw new RangeError('longer-sessions: factor must be positive');
  return {
    global: createAliasTable(w),
    perCategory,
    themed,
    categoryWeights,
    categoryCum: cumulative(categoryWeights),
    lengthFactor: factor,
  };
}

/** Items viewed in one session: log-normal, many short sessions, a long tail, capped. */
function sessionLength(rng: Rng, b: SessionBehaviour, factor: number): number {
  return Math.min(MAX_SESSION_LENGTH, 1 + Math.floor(rng.lognormal(b.lengthMu, b.lengthSigma) * factor));
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
  const b = behaviourOf(o);
  for (const k of ['repeat', 'revisit', 'follow', 'offIntent', 'secondCategory', 'onTheme'] as const)
    if (!(b[k] >= 0 && b[k] <= 1)) throw new RangeError(`behaviour.${k} must be in [0, 1] (got ${b[k]})`);
  if (b.repeat + b.revisit + b.follow > 1) throw new RangeError('behaviour: repeat + revisit + follow must be ≤ 1');
  if (!(b.themeBoost >= 1)) throw new RangeError('behaviour.themeBoost must be ≥ 1');
  if (!Number.isFinite(b.lengthMu) || !(b.lengthSigma >= 0)) throw new RangeError('behaviour: bad session length');
}

function behaviourOf(o: GenerateSessionsOptions): SessionBehaviour {
  return { ...SESSION_BEHAVIOUR, ...o.behaviour };
}

/**
 * Generates the events of one session at a time (bounded memory: only the session start times
 * are held), in order of session start. Each session draws an intent (category, maybe a second
 * one, and a theme) and walks items by `SessionBehaviour`: repeats, returns to earlier items,
 * theme-weighted successors, and jumps within the intent.
 */
export function* sessionEvents(options: GenerateSessionsOptions): Generator<RawEvent[]> {
  checkOptions(options);
  const { catalogue, sessions, seed, start, days, drift, sessionIdOffset = 0 } = options;
  const users = options.users ?? Math.max(1, Math.floor(sessions / 3));
  const b = behaviourOf(options);
  const traffic = trafficFor(catalogue, drift);
  const { items, successors, successorWeights, byCategory, themeOf, themes } = catalogue;
  const rng = createRng(seed, 0x5e55);
  const pRevisit = b.repeat + b.revisit;
  const pFollow = pRevisit + b.follow;
  const succW = new Float64Array(Math.max(...successors.map((s) => s.length)));

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

    // The session's intent: what the shopper came for, kept for the whole visit.
    const intent = [rng.pick(traffic.categoryCum)];
    if (rng.next() < b.secondCategory) {
      const second = rng.pick(traffic.categoryCum);
      if (second !== intent[0]) intent.push(second);
    }
    const theme = rng.int(themes);
    /** A popular item of category c, of the session's theme `onTheme` of the time. */
    const fromCategory = (c: number): number => {
      const th = traffic.themed[c * themes + theme];
      if (th && rng.next() < b.onTheme) return th.members[th.table.sample(rng)]!;
      return byCategory[c]![traffic.perCategory[c]!.sample(rng)]!;
    };
    const jump = (): number =>
      rng.next() < b.offIntent ? traffic.global.sample(rng) : fromCategory(intent[rng.int(intent.length)]!);
    /** A successor of `i`, those of the session's theme `themeBoost` times as likely. */
    const successorOf = (i: number): number => {
      const succ = successors[i]!;
      let total = 0;
      for (let k = 0; k < succ.length; k++) {
        const w = successorWeights[k]! * (themeOf[succ[k]!] === theme ? b.themeBoost : 1);
        total += w;
        succW[k] = total;
      }
      const u = rng.next() * total;
      let k = 0;
      while (k < succ.length - 1 && succW[k]! <= u) k++;
      return succ[k]!;
    };

    let cur: number;
    if (rng.next() < SEARCH_ENTRY) {
      search(intent[0]!);
      cur = fromCategory(intent[0]!);
    } else cur = jump();
    const len = sessionLength(rng, b, traffic.lengthFactor);
    const seen: number[] = [];
    const cart: number[] = [];
    for (let k = 0; k < len; k++) {
      if (k > 0) {
        if (rng.next() < SEARCH_MID) {
          const c = intent[rng.int(intent.length)]!;
          search(c);
          cur = fromCategory(c);
        } else {
          const u = rng.next();
          if (u < b.repeat) {
            // a repeat click: cur stays
          } else if (u < pRevisit) {
            // back to an earlier item (the browser's back button, a comparison); a jump when there is none
            const earlier = seen.length > 1 ? seen[rng.int(seen.length - 1)]! : -1;
            cur = earlier >= 0 && earlier !== cur ? earlier : jump();
          } else if (u < pFollow) cur = successorOf(cur);
          else cur = jump();
        }
      }
      if (!seen.includes(cur)) seen.push(cur);
      else if (seen[seen.length - 1] !== cur) {
        // keep `seen` ordered by last visit, so that "earlier" never means the current item
        seen.splice(seen.indexOf(cur), 1);
        seen.push(cur);
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
