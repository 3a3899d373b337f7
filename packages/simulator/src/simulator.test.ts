import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawEventSchema, type RawEvent } from '@skiff/core';
import { createCatalogue } from './catalogue.js';
import { generateSessions, writeRawLogs, type DriftScenario } from './sessions.js';

const start = new Date(Date.UTC(2026, 0, 1));
const cat = createCatalogue({ items: 500, seed: 3 });

function sequences(events: RawEvent[]): string[][] {
  const by = new Map<string, string[]>();
  for (const e of events) if (e.item_id && (e.event_type === 'view' || e.event_type === 'click')) (by.get(e.session_id) ?? by.set(e.session_id, []).get(e.session_id)!).push(e.item_id);
  return [...by.values()];
}

function stats(drift?: DriftScenario) {
  const seqs = sequences(generateSessions({ catalogue: cat, sessions: 3000, seed: 9, start, days: 7, ...(drift ? { drift } : {}) }));
  const counts = new Map<string, number>();
  for (const s of seqs) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([i]) => i);
  return { seqs, meanLength: seqs.reduce((a, s) => a + s.length, 0) / seqs.length, top };
}

describe('simulator', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = generateSessions({ catalogue: cat, sessions: 200, seed: 1, start, days: 3 });
    const b = generateSessions({ catalogue: cat, sessions: 200, seed: 1, start, days: 3 });
    const c = generateSessions({ catalogue: cat, sessions: 200, seed: 2, start, days: 3 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('writes events that satisfy the raw contract, with realistic lengths and time range', () => {
    const events = generateSessions({ catalogue: cat, sessions: 2000, seed: 4, start, days: 7 });
    for (const e of events) expect(RawEventSchema.safeParse(e).success).toBe(true);
    const { meanLength } = stats();
    expect(meanLength).toBeGreaterThan(3);
    expect(meanLength).toBeLessThan(8);
    const ts = events.map((e) => Date.parse(String(e.timestamp)));
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(start.getTime());
    expect(Math.max(...ts)).toBeLessThan(start.getTime() + 8 * 86_400_000);
    expect(events.some((e) => e.event_type === 'search' && e.item_id === null)).toBe(true);
  });

  it('has item-to-item structure a popularity model cannot see', () => {
    const { seqs, top } = stats();
    const index = new Map(cat.items.map((it, i) => [it.id, i]));
    let follows = 0;
    let inTop = 0;
    let pairs = 0;
    for (const s of seqs)
      for (let i = 1; i < s.length; i++) {
        pairs++;
        if (cat.successors[index.get(s[i - 1]!)!]!.includes(index.get(s[i]!)!)) follows++;
        if (top.includes(s[i]!)) inTop++;
      }
    expect(follows / pairs).toBeGreaterThan(0.5);
    expect(inTop / pairs).toBeLessThan(follows / pairs / 2);
  });

  it('drift scenarios change what the monitor measures', () => {
    const base = stats();
    expect(stats({ kind: 'longer-sessions' }).meanLength).toBeGreaterThan(base.meanLength * 1.8);
    const shifted = stats({ kind: 'popularity-shift' });
    expect(shifted.top.filter((i) => base.top.includes(i)).length).toBeLessThan(8);
  });

  it('writes append-only NDJSON files and reports identical rewrites', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-sim-'));
    try {
      const a = await writeRawLogs({ dir, catalogue: cat, sessions: 300, seed: 5, start, days: 2, maxEventsPerFile: 500 });
      expect(a.files.length).toBeGreaterThan(1);
      const lines = (await readFile(a.files[0]!, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(500);
      const b = await writeRawLogs({ dir, catalogue: cat, sessions: 300, seed: 5, start, days: 2, maxEventsPerFile: 500 });
      expect(b.unchanged).toBe(a.files.length);
      await expect(writeRawLogs({ dir, catalogue: cat, sessions: 301, seed: 5, start, days: 2, maxEventsPerFile: 500 })).rejects.toThrow(/refusing to overwrite/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
