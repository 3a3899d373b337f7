import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';
import { computeSnapshotId, verifySnapshotDir } from './snapshot-id.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

const ev = (session: string, item: string, t: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    session_id: session,
    event_type: 'click',
    item_id: item,
    timestamp: new Date(t).toISOString(),
    ...extra,
  });

/** Five 3-click sessions a day on days [from, to), items cycling over i0…i6. */
function days(from: number, to: number, prefix = 's'): string[] {
  const lines: string[] = [];
  for (let d = from; d < to; d++)
    for (let s = 0; s < 5; s++)
      for (let i = 0; i < 3; i++)
        lines.push(
          ev(`${prefix}${d}-${s}`, `i${(s + i + d) % 7}`, T0 + d * DAY + s * 60_000 + i * 1000, { price: d + s }),
        );
  return lines;
}

/**
 * `snapshotFromLoads` runs the SQL models over only some loads' raw rows: it must rebuild exactly the
 * snapshot `snapshot()` wrote when the warehouse held those loads, whatever was loaded since.
 */
describe('DuckDB warehouse: snapshots restricted to loads', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-snaploads-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(name: string, lines: string[]): Promise<string> {
    const f = path.join(dir, name);
    await writeFile(f, lines.join('\n') + '\n');
    return (await wh.load([f])).loadId;
  }

  it('rebuilds the snapshot of the first load after a second load changed sessions, splits and prices', async () => {
    const first = await load('a.ndjson', days(0, 6));
    await wh.transform();
    const before = await wh.snapshot(path.join(dir, 'snapshots'));
    expect(before.loadIds).toEqual([first]);
    expect(before.counts).toMatchObject({ train: 18, validation: 6, test: 6 });

    // Later data: two more days, one more click in an old session, and a newer price of an old item.
    const second = await load('b.ndjson', [...days(6, 8), ev('s5-0', 'i6', T0 + 5 * DAY + 10_000, { price: 99 })]);
    const t = await wh.transform();
    const after = await wh.snapshot(path.join(dir, 'snapshots'));
    expect(after.loadIds).toEqual([first, second]);
    expect(after.snapshotId).not.toBe(before.snapshotId);

    await rm(before.dir, { recursive: true });
    const rebuilt = await wh.snapshotFromLoads([first], path.join(dir, 'rebuilt'));
    expect(rebuilt.snapshotId).toBe(before.snapshotId);
    expect(rebuilt.loadIds).toEqual([first]);
    expect(rebuilt.counts).toEqual(before.counts);
    expect(rebuilt.splitTime).toEqual(before.splitTime);
    expect(rebuilt.dir).toBe(path.join(dir, 'rebuilt', before.snapshotId));
    const test = JSON.parse(await readFile(rebuilt.files.test, 'utf8')) as { sessions: string[][] };
    expect(test.sessions).toHaveLength(6);
    expect(test.sessions.flat().length).toBe(18); // s5-0 without the click of the second load
    const items = JSON.parse(await readFile(path.join(rebuilt.dir, 'items.json'), 'utf8')) as Record<
      string,
      { price: number | null }
    >;
    expect(Object.values(items).some((i) => i.price === 99)).toBe(false);

    // Both loads (in any order) rebuild the current snapshot.
    expect((await wh.snapshotFromLoads([second, first], path.join(dir, 'rebuilt'))).snapshotId).toBe(after.snapshotId);

    // The derived tables of transform() are untouched: they still hold both loads.
    const [seq] = await wh.query<{ n: string }>('SELECT count(*) AS n FROM session_sequences');
    expect(Number(seq!.n)).toBe(t.models.find((m) => m.name === 'session_sequences')!.rows);
    expect(Number(seq!.n)).toBe(40);
    expect((await wh.snapshot(path.join(dir, 'snapshots'))).snapshotId).toBe(after.snapshotId);
  });

  it('refuses unknown or no load ids', async () => {
    const first = await load('a.ndjson', days(0, 4));
    await expect(wh.snapshotFromLoads([first, 'load-nope'], path.join(dir, 's'))).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('load-nope'),
    });
    await expect(wh.snapshotFromLoads([], path.join(dir, 's'))).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('verifySnapshotDir recomputes the id from the files and notices an edited split', async () => {
    await load('a.ndjson', days(0, 5));
    await wh.transform();
    const snap = await wh.snapshot(path.join(dir, 'snapshots'));
    const v = await verifySnapshotDir(snap.dir);
    expect(v).toMatchObject({ ok: true, computedId: snap.snapshotId });
    expect(v.snapshot.snapshotId).toBe(snap.snapshotId);

    type SplitFile = { sessions: string[][]; startedAt: string[] };
    const read = async (f: string) => JSON.parse(await readFile(f, 'utf8')) as SplitFile;
    const [train, validation, test] = await Promise.all([
      read(snap.files.train),
      read(snap.files.validation),
      read(snap.files.test),
    ]);
    const items = await readFile(path.join(snap.dir, 'items.json'), 'utf8');
    const sessions = { train: train.sessions, validation: validation.sessions, test: test.sessions };
    const starts = { train: train.startedAt, validation: validation.startedAt, test: test.startedAt };
    expect(computeSnapshotId(snap.loadIds, sessions, starts, items, snap.split!.rule)).toBe(snap.snapshotId);
    expect(computeSnapshotId(['load-other'], sessions, starts, items, snap.split!.rule)).not.toBe(snap.snapshotId);
    // The rule is part of the address: another rule is another snapshot, even with the same cut.
    expect(
      computeSnapshotId(snap.loadIds, sessions, starts, items, { rule: 'last-days', testDays: 1, validationDays: 1 }),
    ).not.toBe(snap.snapshotId);

    train.sessions[0] = [...train.sessions[0]!].reverse();
    await writeFile(snap.files.train, JSON.stringify(train));
    const bad = await verifySnapshotDir(snap.dir);
    expect(bad.ok).toBe(false);
    expect(bad.computedId).not.toBe(snap.snapshotId);

    await rm(path.join(snap.dir, 'items.json'));
    await expect(verifySnapshotDir(snap.dir)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('items.json'),
    });
  });
});
