import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

it('exits 1 with a one-line reason on an invalid configuration, before reaching Temporal', async () => {
  const err = await promisify(execFile)(process.execPath, [main], {
    env: { ...process.env, SKIFF_WORKER_ROLES: 'workflows,gpu' },
  }).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  expect(err?.code).toBe(1);
  expect(err?.stderr).toMatch(/^worker failed: invalid configuration: workerRoles/);
});
