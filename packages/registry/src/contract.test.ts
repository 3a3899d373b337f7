import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeExperimentTrackerContract, describeModelRegistryContract } from '@skiff/testing';
import { createFsRegistry } from './create-fs-registry.js';
import { createFsTracker } from './create-fs-tracker.js';

describeModelRegistryContract('fs', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'skiff-fsreg-'));
  return {
    registry: createFsRegistry({ root }),
    reopen: () => createFsRegistry({ root }),
    tamper: (version, file, content) => writeFile(path.join(root, 'versions', version, file), content),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describeExperimentTrackerContract('fs', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'skiff-fsruns-'));
  return { tracker: createFsTracker({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});
