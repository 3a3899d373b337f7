import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsRegistry } from '@skiff/registry';
import { runCliInProcess, runCliProcess } from './test-helpers/cli.js';

/**
 * `skiff unload <load-id>` on a real data dir (DuckDB file, fs registry): a load that brought
 * future-dated events (the data check fails, and they would be the whole test split) is removed,
 * and with it only its rows; the removal is recorded and the derived tables are rebuilt. A load a
 * registered version was trained on is refused unless --force.
 */
describe('skiff unload', () => {
  let root: string;
  let dataDir: string;
  const cli = (...args: string[]) => runCliInProcess([...args, '--data-dir', dataDir, '--log-level', 'warn']);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await cli(...args, '--json');
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
  };
  const sql = async <T>(q: string) => (await json<{ rows: T[] }>('sql', q)).rows;
  const events = (tag: string, n: number, start: number) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        session_id: `${tag}-s${Math.floor(i / 4)}`,
        event_type: 'click',
        item_id: `i${i % 37}`,
        timestamp: new Date(start + i * 15 * 60_000).toISOString(),
      }),
    );
  let goodFile: string;
  let badFile: string;

  beforeAll(async () => {
    delete process.env['SKIFF_MLFLOW_TRACKING_URI'];
    root = await mkdtemp(path.join(os.tmpdir(), 'skiff-unload-'));
    dataDir = path.join(root, 'data');
    await mkdir(dataDir, { recursive: true });
    goodFile = path.join(root, 'good.ndjson');
    badFile = path.join(root, 'bad.ndjson');
    // Four days of past events, and a file of events a year ahead plus two malformed lines.
    await writeFile(goodFile, events('g', 400, Date.now() - 5 * 86_400_000).join('\n') + '\n');
    await writeFile(
      badFile,
      [...events('f', 200, Date.now() + 365 * 86_400_000), '{"not json', '{"session_id":"x"}'].join('\n') + '\n',
    );
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('removes one bad load with its quarantine, records it, rebuilds the derived tables, and refuses loads in a lineage unless forced', async () => {
    const good = await json<{ loadId: string; loaded: number }>('ingest', goodFile);
    const bad = await json<{ loadId: string; loaded: number; quarantined: number }>('ingest', badFile);
    expect(bad).toMatchObject({ loaded: 200, quarantined: 2 });
    await json('transform');
    const before = await cli('check', '--json');
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/raw_events\.not_future/);
    const [{ n: testBefore } = { n: 0 }] = await sql<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM splits WHERE split = 'test' AND session_id LIKE 'f-%'`,
    );
    expect(testBefore, 'the future sessions are the test split').toBeGreaterThan(0);

    // A registered version trained on the bad load: refused, nothing removed.
    const registry = createFsRegistry({ root: path.join(dataDir, 'registry') });
    const art = path.join(root, 'art');
    await mkdir(art);
    await writeFile(path.join(art, 'model.json'), '{}');
    const v = await registry.register({
      name: 'm',
      sourceDir: art,
      metrics: {},
      params: {},
      lineage: { snapshotId: 'snap-x', loadIds: [good.loadId, bad.loadId], codeVersion: 't', backend: 'js' },
    });
    await registry.setAlias('production', v.version);
    const refused = await cli('unload', bad.loadId, '--json');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim()).toMatch(
      new RegExp(
        `^skiff: BAD_INPUT: load ${bad.loadId} is in the lineage of registered version v0001 \\(production\\).*--force`,
      ),
    );
    expect(await sql(`SELECT count(*)::INTEGER AS n FROM raw_events WHERE load_id = '${bad.loadId}'`)).toEqual([
      { n: 200 },
    ]);

    // Forced: exactly that load's rows go, in one transaction with the record and the rebuild.
    const r = await json<{
      rawEvents: number;
      quarantined: number;
      forcedVersions: string[];
      filesForgotten: boolean;
      models: Array<{ name: string; rows: number }>;
    }>('unload', bad.loadId, '--force', '--reason', 'events a year ahead');
    expect(r).toMatchObject({ rawEvents: 200, quarantined: 2, forcedVersions: ['v0001'], filesForgotten: false });
    expect(r.models.map((m) => m.name)).toContain('splits');
    expect(
      await sql(
        `SELECT load_id, count(*)::INTEGER AS n FROM (SELECT load_id FROM raw_events UNION ALL SELECT load_id FROM quarantine) GROUP BY ALL`,
      ),
    ).toEqual([{ load_id: good.loadId, n: 400 }]);
    expect(await sql(`SELECT load_id FROM loads`)).toEqual([{ load_id: good.loadId }]);
    expect(
      await sql(
        `SELECT load_id, reason, raw_events::INTEGER AS e, quarantined::INTEGER AS q, files_forgotten, forced_versions FROM unloads`,
      ),
    ).toEqual([
      {
        load_id: bad.loadId,
        reason: 'events a year ahead',
        e: 200,
        q: 2,
        files_forgotten: false,
        forced_versions: ['v0001'],
      },
    ]);
    // The derived tables no longer hold the future sessions, and every data check passes.
    expect(await sql(`SELECT count(*)::INTEGER AS n FROM stg_events WHERE session_id LIKE 'f-%'`)).toEqual([{ n: 0 }]);
    const check = await cli('check', '--json');
    expect(check.code, check.stdout).toBe(0);

    // The bad file is remembered: ingesting it again (it may still sit in data/raw) loads nothing.
    const again = await json<{ loaded: number; skipped: number }>('ingest', badFile);
    expect(again).toMatchObject({ loaded: 0, skipped: 1 });
    // Removing it twice, or an unknown load, is a clear error.
    const twice = await cli('unload', bad.loadId, '--force');
    expect(twice.stderr).toMatch(new RegExp(`^skiff: BAD_INPUT: load ${bad.loadId} was removed already`));
    const unknown = await cli('unload', 'load-nope');
    expect(unknown.stderr).toMatch(/^skiff: BAD_INPUT: no load load-nope in the warehouse/);
  });

  it('with --forget-files, the same file can be loaded again (the built CLI, as a process)', async () => {
    const dir = path.join(root, 'forget');
    const once = await runCliProcess(['ingest', goodFile, '--json', '--data-dir', dir, '--log-level', 'error']);
    const { loadId } = JSON.parse(once.stdout.trim().split('\n').at(-1)!) as { loadId: string };
    const un = await runCliProcess(['unload', loadId, '--forget-files', '--json', '--data-dir', dir]);
    expect(un.code, un.stderr).toBe(0);
    expect(JSON.parse(un.stdout.trim().split('\n').at(-1)!)).toMatchObject({ rawEvents: 400, filesForgotten: true });
    const back = await runCliProcess(['ingest', goodFile, '--json', '--data-dir', dir, '--log-level', 'error']);
    expect(JSON.parse(back.stdout.trim().split('\n').at(-1)!)).toMatchObject({ loaded: 400, skipped: 0 });
  });
});
