import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTimestampMs, silentLogger } from '@skiff/core';
import { HAND_EVENTS, HAND_ROWS } from './test-helpers/fixtures.js';
import { nextEventItem, onlineQuality, predictionDescriptors, readOnlineEvents, type SessionEvents } from './online.js';

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
    // The warehouse's rule: an impossible date is refused, not rolled over into March.
    expect(parseTimestampMs('2026-02-30T10:00:00Z')).toBeNull();
    expect(parseTimestampMs('2026-02-30')).toBeNull();
    expect(parseTimestampMs(null)).toBeNull();
  });

  it('takes the first item event of the session strictly after the record', () => {
    const ev = indexEvents(HAND_EVENTS);
    expect(HAND_ROWS.map((r) => nextEventItem(r, ev))).toEqual(['b', 'z', null, null, 'q', 't24']);
  });

  it('attributes a click to the recommendation it names (request_id), even in the same millisecond', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-online-'));
    try {
      const T = '2026-03-01T10:00:00.000Z';
      // A fast server: request 1, its click, request 2 and its click all logged in one millisecond.
      const rows = [
        { ts: T, requestId: 'r1', sessionId: 's', items: ['a'], recommended: [{ itemId: 'b', score: 1 }] },
        { ts: T, requestId: 'r2', sessionId: 's', items: ['a', 'b'], recommended: [{ itemId: 'c', score: 1 }] },
        { ts: T, sessionId: 's', items: ['a', 'b', 'c'], recommended: [{ itemId: 'd', score: 1 }] }, // no requestId: time rule
      ];
      const events = [
        { session_id: 's', event_type: 'click', item_id: 'b', timestamp: T, request_id: 'r1' },
        { session_id: 's', event_type: 'click', item_id: 'c', timestamp: T, request_id: 'r2' },
        { session_id: 's', event_type: 'click', item_id: 'c', timestamp: T, request_id: 'r2' }, // a repeat: the first one counts
      ];
      await writeFile(path.join(dir, 'events-1.ndjson'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const { events: ev } = await readOnlineEvents(dir, silentLogger);
      expect(rows.map((r) => nextEventItem(r, ev))).toEqual(['b', 'c', null]);
      expect(onlineQuality(rows, ev)).toMatchObject({ records: 3, withNextEvent: 2, 'hr@20': 1 });
      // Without request ids the time rule (strictly after) finds nothing in the same millisecond.
      await writeFile(
        path.join(dir, 'events-1.ndjson'),
        events.map(({ request_id: _r, ...e }) => JSON.stringify(e)).join('\n') + '\n',
      );
      const { events: untagged } = await readOnlineEvents(dir, silentLogger);
      expect(rows.map((r) => nextEventItem(r, untagged))).toEqual([null, null, null]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads online events by the warehouse rules: impossible dates and item-less events are not next items', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-online-'));
    try {
      const events = [
        { session_id: 's', event_type: 'click', item_id: 'late', timestamp: '2026-02-30T10:00:00Z' }, // no such day
        { session_id: 's', event_type: 'search', item_id: 'q', timestamp: '2026-03-01T10:00:01Z' },
        { session_id: 's', event_type: 'click', item_id: 'b', timestamp: '2026-03-01T10:00:02Z' },
      ];
      await writeFile(path.join(dir, 'events-1.ndjson'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const { events: ev } = await readOnlineEvents(dir, silentLogger);
      expect(ev.get('s')).toEqual({ times: [Date.UTC(2026, 2, 1, 10, 0, 2)], items: ['b'] });
      const row = { ts: '2026-03-01T10:00:00Z', sessionId: 's', items: ['a'], recommended: [] };
      expect(nextEventItem(row, ev)).toBe('b');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
