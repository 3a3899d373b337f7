import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

it('exits 1 with a one-line reason when there is no production model', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-monitor-'));
  try {
    const err = await promisify(execFile)(process.execPath, [main], {
      env: { ...process.env, SKIFF_DATA_DIR: dataDir },
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/monitor failed: no model version or alias named "production"/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
