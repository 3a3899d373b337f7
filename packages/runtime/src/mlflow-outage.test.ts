/**
 * `skiff serve` over the MLflow registry (SKIFF_MLFLOW_TRACKING_URI) while the MLflow server is
 * really stopped: a real `mlflow server` (the project venv .cache/mlflow-venv, or
 * SKIFF_MLFLOW_VENV) is killed under a running server and started again on the same port and
 * store. Serving must keep the last good model, /readyz and /metrics must name the fault, and the
 * server must follow promotions again once MLflow is back. Without the venv the test is SKIPPED
 * with that reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type SkiffConfig } from '@skiff/config';
import { silentLogger, type ModelRegistry } from '@skiff/core';
import { createPopModel } from '@skiff/model';
import { findMlflow, startMlflowServer, type MlflowServer } from '@skiff/registry-mlflow';
import { buildRegistry } from './pipeline.js';
import { startServing, type RunningServer } from './serving.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const venv = process.env['SKIFF_MLFLOW_VENV'] ?? path.join(repoRoot, '.cache', 'mlflow-venv');
const mlflowBin = findMlflow(venv);
const skip = mlflowBin ? false : `no MLflow venv at ${venv} (run: bash infra/mlflow/install.sh)`;
if (skip) console.warn(`[runtime mlflow outage] SKIPPED: ${skip}`);

/** A free port in 22000-22999: MLflow must come back on the same one, so port 0 will not do. */
async function portInRange(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 22000 + Math.floor(Math.random() * 1000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 22000-22999');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Ready {
  status: string;
  model?: { version: string };
  faults: Array<{ component: string; error: string }>;
}

describe.skipIf(Boolean(skip))('serving from the MLflow registry through a real MLflow outage', () => {
  let dir: string;
  let port: number;
  let mlflow: MlflowServer | undefined;
  let server: RunningServer | undefined;
  let config: SkiffConfig;
  let registry: ModelRegistry;
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  const startMlflow = async () =>
    (mlflow = await startMlflowServer({
      mlflowBin: mlflowBin!,
      stateDir: path.join(dir, 'mlflow'),
      port,
      timeoutMs: 150_000,
    }));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mlflow-outage-'));
    port = await portInRange();
    await startMlflow();
    config = loadConfig({
      SKIFF_DATA_DIR: path.join(dir, 'data'),
      SKIFF_MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
    });
    registry = buildRegistry(config);
    process.on('unhandledRejection', onRejection);
  }, 180_000); // MLflow's start-up (≤ 150 s allowed) on a busy machine
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await server?.close();
    await mlflow?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function registerPop(name: string, sessions: string[][]) {
    const src = path.join(dir, name);
    await createPopModel(sessions).save(src);
    const m = await registry.register({
      name: 'pop',
      sourceDir: src,
      metrics: {},
      params: {},
      lineage: { snapshotId: name, loadIds: [], codeVersion: 'test', backend: 'js' },
    });
    await registry.setAlias('production', m.version, { actor: 'test', reason: name });
    return m.version;
  }

  it('keeps the last good model while MLflow is down, reports it on /readyz and /metrics, and follows promotions after', async () => {
    const v1 = await registerPop('first', [['a', 'b', 'a'], ['c']]);
    server = await startServing(config, silentLogger, { host: '127.0.0.1', port: 0, pollMs: 100 });
    const url = server.url;
    const ready = async () => (await (await fetch(url + '/readyz')).json()) as Ready;
    const metric = async (name: string) => {
      const line = (await (await fetch(url + '/metrics')).text()).split('\n').find((l) => l.split(' ')[0] === name);
      return line ? Number(line.split(' ').at(-1)) : NaN;
    };
    const recommend = async (tag: string, n: number) => {
      const tops: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await fetch(url + '/v1/recommendations', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: ['c'], k: 1, sessionId: `${tag}-${i}` }),
        });
        expect(r.status, `${tag} request ${i}`).toBe(200);
        const body = (await r.json()) as { items: Array<{ itemId: string }>; model: { version: string } };
        tops.push(`${body.model.version}:${body.items[0]?.itemId}`);
      }
      return new Set(tops);
    };
    expect(await ready()).toMatchObject({ status: 'ready', model: { version: v1 }, faults: [] });
    expect(await recommend('before', 5)).toEqual(new Set([`${v1}:a`]));

    // The real outage: the MLflow process group is terminated, its port refuses connections.
    await mlflow!.stop();
    await until('the outage to be reported', async () => (await ready()).status === 'degraded');
    expect(await recommend('outage', 30)).toEqual(new Set([`${v1}:a`]));
    const during = await ready();
    expect(during.model?.version).toBe(v1);
    expect(during.faults).toEqual([
      { component: 'registry', error: expect.stringMatching(/MLflow at .* is unreachable/), since: expect.any(String) },
    ]);
    expect(await metric('skiff_fault{component="registry"}')).toBe(1);
    expect(await metric('skiff_registry_poll_failures')).toBeGreaterThan(0);
    // The dashboard reads the same registry on request: an error answer, not a hung or dead process.
    const dash = await fetch(url + '/dashboard/api/registry', { headers: { host: 'localhost' } });
    expect(dash.status).toBeGreaterThanOrEqual(500);
    expect(await recommend('still', 5)).toEqual(new Set([`${v1}:a`]));

    // MLflow back on the same port and store: the fault clears and a new promotion is followed.
    await startMlflow();
    await until('recovery', async () => (await ready()).status === 'ready');
    expect(await metric('skiff_fault{component="registry"}')).toBe(0);
    const v2 = await registerPop('second', [['z', 'z', 'y']]);
    await until('the promotion', async () => (await ready()).model?.version === v2);
    expect(await recommend('after', 5)).toEqual(new Set([`${v2}:z`]));
    expect(rejections).toEqual([]);
  }, 420_000);
});
