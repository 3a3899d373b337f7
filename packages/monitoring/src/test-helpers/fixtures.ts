/** Shared test fixtures: a registry with one production model, its training snapshot and serving logs. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Recommender, ScoredItem, ServingRecord } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import type { ServingRow } from '../features.js';

/** 600 training sessions over 40 items; popularity falls with the index. Lengths 2..6. */
export function trainSessions(): string[][] {
  const train: string[][] = [];
  for (let s = 0; s < 600; s++)
    train.push(Array.from({ length: 2 + (s % 5) }, (_, i) => `i${(s * 7 + i * i) % (5 + (s % 35))}`));
  return train;
}

/** A serving-log line cut to what a test needs (core's `ServingRecord`, only the request items required). */
export type ServingRecordFixture = Pick<ServingRecord, 'items'> & Partial<ServingRecord>;

export async function setupMonitorFixture(
  dir: string,
  serving: ServingRecordFixture[],
  options: {
    train?: Record<string, unknown>;
    events?: Array<Record<string, unknown>> | null;
    /** Written as the snapshot's items.json (the catalogue the `category` column reads). */
    items?: Record<string, { category: string | null; price?: number | null }>;
    /** The registered version's offline metrics (the quality-drop rule compares against them). */
    metrics?: Record<string, number>;
  } = {},
) {
  const train = trainSessions();
  await mkdir(path.join(dir, 'snapshots', 'snap-a'), { recursive: true });
  await writeFile(
    path.join(dir, 'snapshots', 'snap-a', 'train.json'),
    JSON.stringify({ sessions: train, ...options.train }),
  );
  if (options.items)
    await writeFile(path.join(dir, 'snapshots', 'snap-a', 'items.json'), JSON.stringify(options.items));
  const art = path.join(dir, 'art');
  await mkdir(art, { recursive: true });
  await writeFile(path.join(art, 'model.json'), '{}');
  const registry = createFsRegistry({ root: path.join(dir, 'registry') });
  const m = await registry.register({
    name: 'm',
    sourceDir: art,
    metrics: options.metrics ?? {},
    params: {},
    lineage: { snapshotId: 'snap-a', loadIds: [], codeVersion: 't', backend: 'wasm' },
  });
  await registry.setAlias('production', m.version);
  const servingDir = path.join(dir, 'raw', 'serving');
  await mkdir(servingDir, { recursive: true });
  const lines = serving.map((r, n) =>
    JSON.stringify({
      ts: r.ts ?? new Date(Date.UTC(2026, 0, 1, n % 24)).toISOString(),
      requestId: `r${n}`,
      sessionId: r.sessionId ?? null,
      items: r.items,
      k: r.k ?? 20,
      unknownItems: 0,
      recommended: r.recommended ?? [{ itemId: 'i1', score: 0.5 }],
      model: { name: 'm', version: m.version },
      latencyMs: 1,
    }),
  );
  await writeFile(path.join(servingDir, 'serving-1.ndjson'), lines.join('\n') + '\nnot json\n');
  if (options.events) {
    const onlineDir = path.join(dir, 'raw', 'online');
    await mkdir(onlineDir, { recursive: true });
    await writeFile(
      path.join(onlineDir, 'events-0001.ndjson'),
      options.events.map((e) => JSON.stringify(e)).join('\n') + '\n{broken\n',
    );
  }
  return {
    registry,
    train,
    servingDir,
    reportsDir: path.join(dir, 'reports'),
    snapshotsDir: path.join(dir, 'snapshots'),
  };
}

/** A tiny deterministic recommender: scores items by training popularity, damped by history length. */
export function popRecommender(train: readonly string[][], boost = 1): Recommender {
  const counts = new Map<string, number>();
  for (const s of train) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const max = ranked[0]?.[1] ?? 1;
  const recommend = (history: readonly string[], k: number): ScoredItem[] =>
    ranked.slice(0, k).map(([itemId, c]) => ({
      itemId,
      score: Math.round(((boost * c) / max / (1 + history.length / 10)) * 1e6) / 1e6,
    }));
  return {
    name: 'pop-test',
    vocabulary: ranked.map(([i]) => i),
    recommend,
    recommendBatch: (hs, k) => hs.map((h) => recommend(h, k)),
  };
}

const T = (hms: string): string => `2026-03-01T${hms}.000Z`;
const list = (...ids: string[]) => ids.map((itemId, i) => ({ itemId, score: 1 - i / 100 }));

/** Hand-made serving log (see the expected numbers in each test). */
export const HAND_ROWS: ServingRow[] = [
  { ts: T('10:00:00'), sessionId: 's1', items: ['a'], k: 20, recommended: list('a', 'b', 'c') }, // next: b (rank 2)
  { ts: T('10:02:00'), sessionId: 's1', items: ['a', 'b'], k: 20, recommended: list('a', 'b', 'c') }, // next: z (miss)
  { ts: T('10:00:00'), sessionId: 's2', items: ['x'], k: 20, recommended: list('x') }, // no events for s2
  { ts: T('10:00:00'), sessionId: null, items: ['a'], k: 20, recommended: list('a') }, // no session: not a record
  { ts: T('10:00:00'), sessionId: 's3', items: ['p'], k: 2, recommended: list('p', 'q') }, // next: q (rank 2 <= k=2)
  {
    ts: T('10:00:00'),
    sessionId: 's4',
    items: ['t0'],
    k: 30,
    recommended: list(...Array.from({ length: 30 }, (_, i) => `t${i}`)),
  }, // next: t24 (rank 25)
];

/** Raw-contract events for HAND_ROWS (as the serving app writes them). */
export const HAND_EVENTS = [
  { session_id: 's1', event_type: 'click', item_id: 'a', timestamp: T('10:00:00') }, // same ts as the record: not "after"
  { session_id: 's1', event_type: 'click', item_id: 'z', timestamp: T('10:03:00') },
  { session_id: 's1', event_type: 'click', item_id: 'b', timestamp: T('10:01:00') }, // out of order in the file
  { session_id: 's3', event_type: 'search', item_id: null, timestamp: T('10:00:30') }, // no item: skipped
  { session_id: 's3', event_type: 'click', item_id: 'q', timestamp: '2026-03-01 10:05:00' }, // no offset = UTC
  { session_id: 's4', event_type: 'view', item_id: 't24', timestamp: Date.parse(T('10:07:00')) / 1000 }, // epoch seconds
];
