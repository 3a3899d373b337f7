import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawEventSchema } from '@skiff/core';
import { createCatalogue, DEFAULT_SUCCESSORS_PER_ITEM } from './catalogue.js';
import {
  generateSessions,
  sessionEvents,
  SESSION_BEHAVIOUR,
  type DriftScenario,
  type SessionBehaviour,
} from './sessions.js';
import { itemSequences, sessionStats } from './stats.js';
import { writeRawLogs } from './write.js';

const start = new Date(Date.UTC(2026, 0, 1));
const cat = createCatalogue({ items: 1000, seed: 3 });

function stats(drift?: DriftScenario, seed = 9) {
  return sessionStats(
    generateSessions({ catalogue: cat, sessions: 4000, seed, start, days: 7, ...(drift ? { drift } : {}) }),
    cat,
  );
}
const base = stats();

/**
 * Over consecutive item pairs that are not repeat clicks: how often the category changes to one
 * seen earlier in the session (not the last item's), and how often both items share a theme.
 */
function intentStats() {
  return intentStatsWith({});
}

function intentStatsWith(behaviour: Partial<SessionBehaviour>) {
  const events = generateSessions({ catalogue: cat, sessions: 4000, seed: 9, start, days: 7, behaviour });
  let switches = 0;
  let backToEarlier = 0;
  let pairs = 0;
  let sameTheme = 0;
  let repeats = 0;
  for (const s of itemSequences(events).values()) {
    const idx = s.map((i) => cat.indexOf.get(i)!);
    const c = idx.map((i) => cat.categoryOf[i]!);
    for (let j = 1; j < s.length; j++) {
      if (idx[j] === idx[j - 1]) {
        repeats++;
        continue;
      }
      pairs++;
      if (cat.themeOf[idx[j]!] === cat.themeOf[idx[j - 1]!]) sameTheme++;
      if (j >= 2 && c[j] !== c[j - 1]) {
        switches++;
        if (c.slice(0, j - 1).includes(c[j]!)) backToEarlier++;
      }
    }
  }
  return {
    backToEarlier: backToEarlier / switches,
    sameTheme: sameTheme / pairs,
    repeatShare: repeats / (repeats + pairs),
  };
}

describe('catalogue', () => {
  it('is seeded, well-formed and mostly same-category in its successors', () => {
    expect(JSON.stringify(createCatalogue({ items: 300, seed: 1 }))).toBe(
      JSON.stringify(createCatalogue({ items: 300, seed: 1 })),
    );
    expect(JSON.stringify(createCatalogue({ items: 300, seed: 1 }).successors)).not.toBe(
      JSON.stringify(createCatalogue({ items: 300, seed: 2 }).successors),
    );
    expect(cat.items[42]!.id).toBe('i00042');
    expect(cat.categories).toHaveLength(20);
    expect(cat.categories[7]).toBe('c07');
    expect(cat.byCategory.every((m) => m.length > 0)).toBe(true);
    let same = 0;
    let all = 0;
    cat.successors.forEach((succ, i) => {
      expect(succ).toHaveLength(DEFAULT_SUCCESSORS_PER_ITEM);
      expect(new Set(succ).size).toBe(DEFAULT_SUCCESSORS_PER_ITEM);
      expect(succ).not.toContain(i);
      for (const j of succ) {
        all++;
        if (cat.categoryOf[j] === cat.categoryOf[i]) same++;
      }
    });
    expect(same / all).toBeGreaterThan(0.75);
    expect(cat.items.every((it) => it.price > 0)).toBe(true);
    // Every theme is used, and themes cut across categories.
    expect(new Set(cat.themeOf).size).toBe(cat.themes);
    expect(new Set(cat.byCategory[0]!.map((i) => cat.themeOf[i])).size).toBeGreaterThan(1);
    // Zipf-like: the top 1 % of items carry a large share of the popularity mass.
    const sorted = [...cat.popularity].sort((a, b) => b - a);
    const total = sorted.reduce((a, b) => a + b, 0);
    expect(sorted.slice(0, 10).reduce((a, b) => a + b, 0) / total).toBeGreaterThan(0.3);
  });
});

describe('sessions', () => {
  it('is byte-identical per seed and differs across seeds', () => {
    const a = generateSessions({ catalogue: cat, sessions: 300, seed: 1, start, days: 3 });
    const b = generateSessions({ catalogue: cat, sessions: 300, seed: 1, start, days: 3 });
    const c = generateSessions({ catalogue: cat, sessions: 300, seed: 2, start, days: 3 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('satisfies the raw contract, with ordered timestamps in the window and an evening peak', () => {
    const events = generateSessions({ catalogue: cat, sessions: 2000, seed: 4, start, days: 7, sessionIdOffset: 500 });
    for (const e of events) {
      expect(RawEventSchema.safeParse(e).success).toBe(true);
      expect(typeof e.timestamp).toBe('string');
      expect(new Date(String(e.timestamp)).toISOString()).toBe(e.timestamp);
      if (e.event_type === 'search')
        expect(e.item_id === null && typeof e.query === 'string' && e.query.length > 0).toBe(true);
      else expect(cat.indexOf.has(e.item_id ?? '')).toBe(true);
    }
    const ids = [...new Set(events.map((e) => e.session_id))];
    expect(ids).toHaveLength(2000);
    expect(ids[0]).toBe('s0000500');
    expect(ids.every((id) => /^s\d{7,}$/.test(id))).toBe(true);
    const ts = events.map((e) => Date.parse(String(e.timestamp)));
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(start.getTime());
    expect(Math.max(...ts)).toBeLessThan(start.getTime() + 8 * 86_400_000);
    // Within a session time moves forward; sessions come in order of their start.
    const firstTs: number[] = [];
    let prevSession = '';
    events.forEach((e, k) => {
      if (e.session_id === prevSession) expect(ts[k]!).toBeGreaterThan(ts[k - 1]!);
      else firstTs.push(ts[k]!);
      prevSession = e.session_id;
    });
    expect(firstTs.every((t, k) => k === 0 || t >= firstTs[k - 1]!)).toBe(true);
    const hours = new Array<number>(24).fill(0);
    for (const t of firstTs) hours[new Date(t).getUTCHours()]!++;
    expect(hours[20]!).toBeGreaterThan(3 * hours[3]!);
    const types = new Set(events.map((e) => e.event_type));
    for (const t of ['view', 'click', 'add_to_cart', 'purchase', 'search']) expect(types.has(t as never)).toBe(true);
    expect(events.some((e) => e.user_id === null)).toBe(true);
    expect(events.some((e) => typeof e.user_id === 'string')).toBe(true);
  });

  it('has plausible session lengths: many single-item visits, a long tail, capped', () => {
    expect(base.medianLength).toBeLessThanOrEqual(2);
    expect(base.meanLength).toBeGreaterThan(1.8);
    expect(base.meanLength).toBeLessThan(3);
    expect(base.p95Length).toBeGreaterThanOrEqual(5);
    expect(base.maxLength).toBeLessThanOrEqual(50);
  });

  it('has item-to-item structure a popularity model cannot see', () => {
    // Successors are followed about as often as `follow` says (a jump lands on one now and then).
    expect(base.successorFollowRate).toBeGreaterThan(SESSION_BEHAVIOUR.follow * 0.9);
    expect(base.successorFollowRate).toBeGreaterThan(base.topItemsHitRate);
    // A fresh seed from the same catalogue shares the structure (what a model learns transfers).
    expect(stats(undefined, 10).successorFollowRate).toBeGreaterThan(SESSION_BEHAVIOUR.follow * 0.9);
  });

  it('keeps an intent through the session: what comes next depends on more than the last item', () => {
    const calm = intentStats();
    // When the category changes, it often goes back to a category seen before the last item (the
    // second category of the intent). With 20 categories, chance would be well under 0.2.
    expect(calm.backToEarlier).toBeGreaterThan(0.35);
    // Consecutive items share the session's theme far more often than 1 in `themes`.
    expect(calm.sameTheme).toBeGreaterThan(1 / cat.themes + 0.25);
    // Repeat clicks on the same item, as in real click logs.
    expect(calm.repeatShare).toBeGreaterThan(SESSION_BEHAVIOUR.repeat);
    expect(calm.repeatShare).toBeLessThan(0.35);
    // Without an intent (jumps anywhere by popularity, no returns, themes ignored) both signals fall away.
    const flat = intentStatsWith({ offIntent: 1, revisit: 0, onTheme: 0, themeBoost: 1 });
    expect(flat.backToEarlier).toBeLessThan(calm.backToEarlier - 0.15);
    expect(flat.sameTheme).toBeLessThan(1 / cat.themes + 0.1);
  });

  it('drift scenarios change what the monitor measures', () => {
    const longer = stats({ kind: 'longer-sessions' });
    expect(longer.meanLength).toBeGreaterThan(base.meanLength * 1.8);
    const shifted = stats({ kind: 'popularity-shift' });
    expect(shifted.topItems.filter((i) => base.topItems.includes(i)).length).toBeLessThan(5);
    expect(Math.abs(shifted.meanLength - base.meanLength)).toBeLessThan(0.5);
    const category = stats({ kind: 'category-shift', category: 'c05' });
    expect(category.categoryShares['c05']!).toBeGreaterThan(3 * (base.categoryShares['c05'] ?? 0));
    // Structure stays: drift changes traffic, not the catalogue.
    for (const d of [longer, shifted, category])
      expect(d.successorFollowRate).toBeGreaterThan(SESSION_BEHAVIOUR.follow * 0.9);
    expect(() =>
      generateSessions({
        catalogue: cat,
        sessions: 1,
        seed: 1,
        start,
        days: 1,
        drift: { kind: 'category-shift', category: 'nope' },
      }),
    ).toThrow();
  });

  it('generates 20,000 sessions lazily', () => {
    const big = createCatalogue({ seed: 11 });
    let events = 0;
    for (const s of sessionEvents({ catalogue: big, sessions: 20_000, seed: 11, start, days: 14 })) events += s.length;
    expect(events).toBeGreaterThan(40_000);
  });
});

describe('writeRawLogs', () => {
  it('writes deterministic, append-only NDJSON files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sim-'));
    try {
      const opts = {
        dir: path.join(dir, 'raw'),
        catalogue: cat,
        sessions: 400,
        seed: 5,
        start,
        days: 2,
        maxEventsPerFile: 500,
      };
      const a = await writeRawLogs(opts);
      expect(a.sessions).toBe(400);
      expect(a.files.length).toBeGreaterThan(2);
      expect(path.basename(a.files[0]!)).toBe('events-5-0001.ndjson');
      let lines = 0;
      const seen = new Set<string>();
      for (const f of a.files) {
        const ls = (await readFile(f, 'utf8')).trimEnd().split('\n');
        expect(ls.length).toBeLessThanOrEqual(500);
        lines += ls.length;
        const ids = new Set(ls.map((l) => RawEventSchema.parse(JSON.parse(l)).session_id));
        for (const id of ids) expect(seen.has(id)).toBe(false); // sessions are never split across files
        for (const id of ids) seen.add(id);
      }
      expect(lines).toBe(a.events);
      const bytes = await Promise.all(a.files.map((f) => readFile(f)));

      // Same seed again: identical bytes, reported and not rewritten.
      const b = await writeRawLogs(opts);
      expect(b.files).toEqual(a.files);
      expect(b.unchanged).toBe(a.files.length);

      // Another seed and a drifted run add new files next to the old ones.
      const c = await writeRawLogs({ ...opts, seed: 6 });
      const d = await writeRawLogs({ ...opts, seed: 6, drift: { kind: 'longer-sessions' } });
      expect(c.unchanged + d.unchanged).toBe(0);
      expect(path.basename(d.files[0]!)).toBe('events-6-longer-sessions-0001.ndjson');
      const all = await readdir(opts.dir);
      expect(all.filter((f) => f.endsWith('.ndjson'))).toHaveLength(a.files.length + c.files.length + d.files.length);
      expect(all.every((f) => f.endsWith('.ndjson'))).toBe(true); // no temp files left behind

      // Different content under an existing name is refused, and nothing is changed.
      await expect(writeRawLogs({ ...opts, sessions: 401 })).rejects.toThrow(/refusing to overwrite/);
      const after = await Promise.all(a.files.map((f) => readFile(f)));
      after.forEach((buf, k) => expect(buf.equals(bytes[k]!)).toBe(true));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
