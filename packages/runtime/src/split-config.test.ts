import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type SkiffConfig } from '@skiff/config';
import { silentLogger } from '@skiff/core';
import { createCatalogue, writeRawLogs } from '@skiff/simulator';
import { openWarehouse, openWarehouseReader } from './pipeline.js';
import { unloadLoad } from './unload.js';

/** The rule the derived `splits` table was last built with, and its sessions per split. */
async function splits(config: SkiffConfig) {
  const reader = await openWarehouseReader(config);
  try {
    const rows = await reader.query(
      'SELECT any_value(split_rule) AS rule, split, count(*)::INTEGER AS n FROM splits GROUP BY split ORDER BY split',
    );
    return {
      rule: JSON.parse(String(rows[0]?.['rule'])) as unknown,
      sizes: Object.fromEntries(rows.map((r) => [r['split'], r['n']])),
    };
  } finally {
    await reader.close();
  }
}

/**
 * `skiff transform` and `skiff unload` rebuild the derived tables through the runtime's
 * openWarehouse: the split they build must be the configured one (SKIFF_SPLIT_*), as in the pipeline.
 */
describe('every rebuild of the splits uses the configured split rule', () => {
  let dataDir: string;
  let config: SkiffConfig;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-split-config-'));
    const catalogue = createCatalogue({ items: 100, seed: 6 });
    for (const [name, seed, day] of [
      ['a', 6, 1],
      ['b', 7, 5],
    ] as const)
      await writeRawLogs({
        dir: path.join(dataDir, 'raw', name),
        catalogue,
        sessions: 400,
        seed,
        start: new Date(Date.UTC(2026, 0, day)),
        days: 4,
      });
    config = loadConfig(
      { SKIFF_SPLIT_RULE: 'fraction', SKIFF_SPLIT_TEST_FRACTION: '0.3', SKIFF_SPLIT_VALIDATION_FRACTION: '0.2' },
      { dataDir },
    );
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('transform (skiff transform) and unload (skiff unload) split by fraction as configured', async () => {
    const wh = await openWarehouse(config, silentLogger);
    let second: string;
    try {
      await wh.load([path.join(dataDir, 'raw', 'a')]);
      second = (await wh.load([path.join(dataDir, 'raw', 'b')])).loadId;
      await wh.transform();
    } finally {
      await wh.close();
    }
    const transformed = await splits(config);
    expect(transformed.rule).toEqual({ rule: 'fraction', testFraction: 0.3, validationFraction: 0.2 });
    await unloadLoad(config, silentLogger, second);
    const afterUnload = await splits(config);
    expect(afterUnload.rule).toEqual(transformed.rule);
    // Fewer sessions after the unload, still split by fraction of the time span (not the last day).
    const total = (s: Record<string, unknown>) => Object.values(s).reduce<number>((a, n) => a + Number(n), 0);
    expect(total(afterUnload.sizes)).toBeLessThan(total(transformed.sizes));
    expect(Number(afterUnload.sizes['test'])).toBeGreaterThan(0.15 * total(afterUnload.sizes));
  }, 60_000);
});
