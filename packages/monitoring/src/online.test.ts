import { describe, expect, it } from 'vitest';
import { HAND_EVENTS, HAND_ROWS } from './test-helpers/fixtures.js';
import { nextEventItem, onlineQuality, parseTimestampMs, predictionDescriptors, type SessionEvents } from './online.js';

function indexEvents(events: typeof HAND_EVENTS): SessionEvents {
  const m: SessionEvents = new Map();
  const sorted = events
    .filter((e) => e.item_id)
    .map((e) => ({ ...e, t: parseTimestampMs(e.timestamp)! }))
    .sort((a, b) => a.t - b.t);
  for (const e of sorted) {
    const v = m.get(e.session_id) ?? { times: [], items: [] };
    v.times.push(e.t);
    v.items.push(e.item_id!);
    m.set(e.session_id, v);
  }
  return m;
}

describe('online quality', () => {
  it('parses ISO (with/without offset) and epoch s/ms timestamps', () => {
    const ms = Date.UTC(2026, 2, 1, 10, 5, 0);
    expect(parseTimestampMs('2026-03-01T10:05:00Z')).toBe(ms);
    expect(parseTimestampMs('2026-03-01 10:05:00')).toBe(ms);
    expect(parseTimestampMs('2026-03-01T12:05:00+02:00')).toBe(ms);
    expect(parseTimestampMs(ms / 1000)).toBe(ms);
    expect(parseTimestampMs(ms)).toBe(ms);
    expect(parseTimestampMs(String(ms / 1000))).toBe(ms);
    expect(parseTimestampMs('yesterday')).toBeNull();
    expect(parseTimestampMs(null)).toBeNull();
  });

  it('takes the first item event of the session strictly after the record', () => {
    const ev = indexEvents(HAND_EVENTS);
    expect(HAND_ROWS.map((r) => nextEventItem(r, ev))).toEqual(['b', 'z', null, null, 'q', 't24']);
  });

  it('computes hr/mrr@20 and @k over records with a next event', () => {
    const q = onlineQuality(HAND_ROWS, indexEvents(HAND_EVENTS));
    expect(q.records).toBe(5);
    expect(q.withNextEvent).toBe(4);
    expect(q['hr@20']).toBe(2 / 4); // s1#1 hit at 2, s3 hit at 2
    expect(q['mrr@20']).toBeCloseTo((1 / 2 + 1 / 2) / 4, 15);
    expect(q['hr@k']).toBe(3 / 4); // + s4 at rank 25 <= k=30
    expect(q['mrr@k']).toBeCloseTo((1 / 2 + 1 / 2 + 1 / 25) / 4, 15);
  });

  it('returns nulls (not NaN) when no record has a next event', () => {
    const q = onlineQuality(HAND_ROWS, new Map());
    expect(q).toEqual({ records: 5, withNextEvent: 0, 'hr@20': null, 'mrr@20': null, 'hr@k': null, 'mrr@k': null });
  });

  it('describes predictions: coverage and top-10 share', () => {
    // 40 slots; 36 distinct items; top 10 counts: a 3, b 2, c 2, then seven items once = 14.
    const p = predictionDescriptors(HAND_ROWS);
    expect(p).toEqual({ coverage: 36, top10Share: 14 / 40, distinctItems: 36, vocabularySize: null, slots: 40 });
    expect(predictionDescriptors(HAND_ROWS, 72).coverage).toBe(0.5);
    expect(predictionDescriptors([]).top10Share).toBe(0);
  });
});
