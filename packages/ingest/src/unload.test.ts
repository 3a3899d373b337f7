import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbWarehouse } from './create-duckdb-warehouse.js';

/** The built package runs in the child process (`npm run build` first, as the CLI tests need). */
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * `unload` is one transaction: a process killed (SIGKILL) while it rebuilds the derived tables,
 * after the rows were deleted inside the transaction, leaves the load whole and no record of a
 * removal; the next unload then completes.
 */
describe('unload survives a kill part-way', () => {
  let dir: string;
  let db: string;
  const events = (tag: string, n: number, startMs: number) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        session_id: `${tag}-${Math.floor(i / 5)}`,
        event_type: 'click',
        item_id: `i${i % 501}`,
        timestamp: new Date(startMs + i * 1000).toISOString(),
      }),
    ).join('\n') + '\n{"broken\n';
  let keep: string;
  let bad: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-unload-kill-'));
    db = path.join(dir, 'warehouse.duckdb');
    await writeFile(path.join(dir, 'keep.ndjson'), events('k', 200_000, Date.UTC(2026, 0, 1)));
    await writeFile(path.join(dir, 'bad.ndjson'), events('b', 50_000, Date.UTC(2026, 0, 5)));
    const wh = await createDuckDbWarehouse({ path: db });
    keep = (await wh.load([path.join(dir, 'keep.ndjson')])).loadId;
    bad = (await wh.load([path.join(dir, 'bad.ndjson')])).loadId;
    await wh.transform();
    await wh.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const state = async () => {
    const wh = await createDuckDbWarehouse({ path: db });
    try {
      const count = async (sql: string) => Number((await wh.query<{ n: string }>(sql))[0]?.n);
      return {
        events: await count(`SELECT count(*) AS n FROM raw_events WHERE load_id = '${bad}'`),
        quarantined: await count(`SELECT count(*) AS n FROM quarantine WHERE load_id = '${bad}'`),
        loads: await count(`SELECT count(*) AS n FROM loads`),
        staged: await count(`SELECT count(*) AS n FROM stg_events WHERE session_id LIKE 'b-%'`),
        kept: await count(`SELECT count(*) AS n FROM raw_events WHERE load_id = '${keep}'`),
        // No unloads table before the first unload.
        removals: await count(`SELECT count(*) AS n FROM unloads`).catch(() => 0),
        passed: (await wh.check()).passed,
      };
    } finally {
      await wh.close();
    }
  };

  it('leaves the load whole when killed while the derived tables are rebuilt, and completes the next time', async () => {
    const before = await state();
    expect(before).toMatchObject({
      events: 50_000,
      quarantined: 1,
      kept: 200_000,
      loads: 2,
      staged: 50_000,
      removals: 0,
    });
    // A process that unloads and says when the rebuild (inside the transaction) has started.
    const script = `
      import { createDuckDbWarehouse } from ${JSON.stringify(dist)};
      const say = (msg) => { if (msg === 'model built') process.stdout.write('REBUILDING\\n'); };
      const logger = { debug() {}, info: say, warn() {}, error() {}, child() { return logger; } };
      const wh = await createDuckDbWarehouse({ path: ${JSON.stringify(db)}, logger });
      await wh.unload(${JSON.stringify(bad)}, { reason: 'killed' });
      process.stdout.write('DONE\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const killed = await new Promise<boolean>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('REBUILDING')) {
          child.kill('SIGKILL');
          resolve(true);
        }
      });
      child.once('exit', () => resolve(false));
    });
    expect(killed, `the child finished before it could be killed: ${out}`).toBe(true);
    await new Promise((r) => child.once('exit', r));
    expect(out).not.toMatch(/DONE/);
    expect(await state()).toEqual(before);

    const wh = await createDuckDbWarehouse({ path: db });
    try {
      const r = await wh.unload(bad, { reason: 'second try' });
      expect(r).toMatchObject({ rawEvents: 50_000, quarantined: 1, files: 1, filesForgotten: false });
    } finally {
      await wh.close();
    }
    expect(await state()).toEqual({
      events: 0,
      quarantined: 0,
      kept: 200_000,
      loads: 1,
      staged: 0,
      removals: 1,
      passed: true,
    });
  });
});
