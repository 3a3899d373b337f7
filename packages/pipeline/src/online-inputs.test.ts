import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type Warehouse } from '@skiff/core';
import { createPipelineActivities, type PipelineDeps } from './activities.js';

/** Online events are read by training only when the deployment says so (SKIFF_INGEST_ONLINE_EVENTS). */
describe('ingest inputs', () => {
  let dir: string;
  let seen: string[][];
  const deps = (online?: string) =>
    ({
      // A recording warehouse: only which inputs the stage asks to load is under test here.
      openWarehouse: async () =>
        ({
          load: async (inputs: string[]) => (
            seen.push(inputs),
            { loadId: 'l', rows: 0, loaded: 0, quarantined: 0, skipped: 0, files: [] }
          ),
          close: async () => {},
        }) as unknown as Warehouse,
      paths: { raw: path.join(dir, 'raw'), snapshots: '', artifacts: '', ...(online ? { online } : {}) },
      logger: silentLogger,
      codeVersion: 't',
    }) as unknown as PipelineDeps;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-inputs-'));
    await mkdir(path.join(dir, 'online'));
    seen = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('loads data/raw only, unless an online folder is configured (and exists)', async () => {
    await createPipelineActivities(deps()).ingest({});
    await createPipelineActivities(deps(path.join(dir, 'online'))).ingest({});
    await createPipelineActivities(deps(path.join(dir, 'missing'))).ingest({});
    expect(seen).toEqual([
      [path.join(dir, 'raw')],
      [path.join(dir, 'raw'), path.join(dir, 'online')],
      [path.join(dir, 'raw')],
    ]);
  });
});
