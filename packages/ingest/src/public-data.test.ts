import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPublicData, publicDataSkipReason } from '@skiff/testing';
import { createDuckDbWarehouse, type DuckDbWarehouse } from './create-duckdb-warehouse.js';

/**
 * Every file of the public data samples (not redistributable, so read from outside the repository
 * and never committed: `findPublicData` says where; skipped when absent), loaded with
 * `--format auto` and checked against the counts in each folder's README.
 */

interface Expect {
  format: string;
  events: number;
  sessions: number;
  items: number;
  /** Header lines. */
  skipped: number;
  first?: string;
  last?: string;
}

/** From the README of each sample folder. */
const EXPECTED: Record<string, Record<string, Expect>> = {
  'diginetica-srgnn-sample': {
    'sample_train-item-views.csv': {
      format: 'diginetica',
      events: 12_391,
      sessions: 2_986,
      items: 7_139,
      skipped: 1,
      first: '2016-01-03',
      last: '2016-06-01',
    },
  },
  'otto-sample': {
    'train.jsonl': { format: 'otto', events: 862, sessions: 20, items: 510, skipped: 0, first: '2022-07-31 22:00' },
  },
  'yoochoose-rsc15-100k': {
    'yoochoose-clicks-100k_train_full.txt': {
      format: 'yoochoose',
      events: 70_278,
      sessions: 17_794,
      items: 2_933,
      skipped: 1,
      first: '2014-04-01 01:02',
      last: '2014-04-07 00:43',
    },
    'yoochoose-clicks-100k_test.txt': {
      format: 'yoochoose',
      events: 13_568,
      sessions: 3_416,
      items: 1_771,
      skipped: 1,
      first: '2014-04-07 00:49',
      last: '2014-04-08 00:50',
    },
    'yoochoose-clicks-100k_train_tr.txt': {
      format: 'yoochoose',
      events: 53_254,
      sessions: 13_629,
      items: 2_873,
      skipped: 1,
      first: '2014-04-01',
      last: '2014-04-06 00:30',
    },
    'yoochoose-clicks-100k_train_valid.txt': {
      format: 'yoochoose',
      events: 16_539,
      sessions: 4_084,
      items: 2_029,
      skipped: 1,
      first: '2014-04-06 00:19',
      last: '2014-04-07 00:43',
    },
  },
};

const found = Object.fromEntries(
  Object.keys(EXPECTED).map((sample) => [sample, findPublicData(sample, [], process.env)] as const),
);
const present = Object.values(found).some((f) => f.dir !== null);
const title = present
  ? 'public samples'
  : `public samples (skipped: ${Object.entries(found)
      .map(([sample, f]) => publicDataSkipReason(sample, f))
      .join('; ')})`;

describe.skipIf(!present)(title, () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-public-'));
    wh = await createDuckDbWarehouse({ path: path.join(dir, 'w.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [dataset, files] of Object.entries(EXPECTED)) {
    it(`${dataset}: every file loads with the README's event, session and item counts`, async (ctx) => {
      const DATA_DIR = found[dataset]!.dir;
      if (!DATA_DIR) return ctx.skip(publicDataSkipReason(dataset, found[dataset]!));
      const onDisk = (await readdir(DATA_DIR)).filter((f) => !f.toLowerCase().endsWith('.md')).sort();
      expect(onDisk).toEqual(Object.keys(files).sort());
      const r = await wh.load([DATA_DIR]);
      expect(r.quarantined).toBe(0);
      expect(r.rows).toBe(r.loaded + r.quarantined + r.skippedRows);
      for (const [name, e] of Object.entries(files)) {
        const f = r.files.find((x) => path.basename(x.path) === name);
        expect(f, name).toMatchObject({
          format: e.format,
          loaded: e.events,
          quarantined: 0,
          skippedRows: e.skipped,
          rows: e.events + e.skipped,
          skipped: false,
        });
        const [c] = await wh.query<{ n: string; s: string; i: string; lo: string; hi: string }>(
          `SELECT count(*) AS n, count(DISTINCT session_id) AS s, count(DISTINCT item_id) AS i,
                  strftime(min(ts), '%Y-%m-%d %H:%M') AS lo, strftime(max(ts), '%Y-%m-%d %H:%M') AS hi
           FROM raw_events WHERE source_file = '${f!.path.replaceAll("'", "''")}'`,
        );
        expect({ file: name, events: Number(c?.n), sessions: Number(c?.s), items: Number(c?.i) }).toEqual({
          file: name,
          events: e.events,
          sessions: e.sessions,
          items: e.items,
        });
        if (e.first) expect(c?.lo.startsWith(e.first), `${name} starts ${c?.lo}`).toBe(true);
        if (e.last) expect(c?.hi.startsWith(e.last), `${name} ends ${c?.hi}`).toBe(true);
      }
      if (dataset === 'otto-sample') {
        const types = await wh.query<{ event_type: string; n: string }>(
          `SELECT event_type, count(*) AS n FROM raw_events GROUP BY 1 ORDER BY 1`,
        );
        expect(Object.fromEntries(types.map((t) => [t.event_type, Number(t.n)]))).toEqual({
          click: 800,
          add_to_cart: 52,
          purchase: 10,
        });
      }
      // The whole chain runs on each sample, and the checks pass.
      await wh.transform();
      const checks = await wh.check();
      expect(checks.checks.filter((x) => !x.passed)).toEqual([]);
      // Loading the folder again adds nothing.
      expect(await wh.load([DATA_DIR])).toMatchObject({ rows: 0, skipped: Object.keys(files).length });
    });
  }
});
