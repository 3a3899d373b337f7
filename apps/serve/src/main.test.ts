import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-serve-main-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** The process alone, on an empty data dir: it listens, is not ready without a model, and stops cleanly on SIGTERM. */
it('serves health and readiness from its own entry point and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      SKIFF_DATA_DIR: dataDir,
      SKIFF_SERVE_PORT: String(port),
      SKIFF_SERVE_HOST: '127.0.0.1',
      SKIFF_LOG_LEVEL: 'warn',
      SKIFF_MLFLOW_TRACKING_URI: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  let health: Response | null = null;
  for (let i = 0; i < 300 && !health; i++) {
    health = await fetch(`${url}/healthz`).catch(() => null);
    if (!health) await new Promise((r) => setTimeout(r, 100));
  }
  expect(health?.status, stderr).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(503);
  const bad = await fetch(`${url}/v1/recommendations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"items": [',
  });
  expect(bad.status).toBe(400);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
