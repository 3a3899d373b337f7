/**
 * The registry and tracker contract suites (@skiff/testing) against a real MLflow tracking
 * server started here: `mlflow server` from the project venv .cache/mlflow-venv (create it with
 * `bash infra/mlflow/install.sh`; override with SKIFF_MLFLOW_VENV), sqlite backend store and a
 * proxied artifact store in a temp folder, on a free port, killed afterwards.
 * Without the venv the suites are SKIPPED with that reason (never pass silently).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeExperimentTrackerContract, describeModelRegistryContract } from '@skiff/testing';
import { createMlflowClient, decodeKey, encodeKey } from './client.js';
import { createMlflowRegistry } from './create-mlflow-registry.js';
import { createMlflowTracker } from './create-mlflow-tracker.js';
import { findMlflow, startMlflowServer, type MlflowServer } from './mlflow-server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const venv = process.env['SKIFF_MLFLOW_VENV'] ?? path.join(repoRoot, '.cache', 'mlflow-venv');
const mlflowBin = findMlflow(venv);
const skip = mlflowBin ? false : `no MLflow venv at ${venv} (run: bash infra/mlflow/install.sh)`;
if (skip) console.warn(`[registry-mlflow] SKIPPED: ${skip}`);

let server: MlflowServer | undefined;
let stateDir: string;
const rand = () => Math.random().toString(36).slice(2, 10);

beforeAll(async () => {
  if (!mlflowBin) return;
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mlflow-'));
  server = await startMlflowServer({ mlflowBin, stateDir, timeoutMs: 150_000 });
});
afterAll(async () => {
  await server?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const url = () => {
  if (!server) throw new Error('MLflow server not started');
  return server.url;
};

describeModelRegistryContract(
  'mlflow',
  async () => {
    const modelName = `skiff-${rand()}`;
    const cache = await mkdtemp(path.join(os.tmpdir(), 'skiff-mlflow-cache-'));
    const make = (sub: string) =>
      createMlflowRegistry({
        trackingUri: url(),
        modelName,
        experiment: `registry-${modelName}`,
        cacheDir: path.join(cache, sub),
      });
    return {
      registry: make('a'),
      reopen: () => make('b'),
      // Behind the registry's back: overwrite the file in the server's artifact store on disk.
      tamper: async (version, file, content) => {
        const client = createMlflowClient({ trackingUri: url() });
        const { model_version } = await client.get<{ model_version: { tags: Array<{ key: string; value: string }> } }>(
          'model-versions/get',
          { name: modelName, version: Number(version.slice(1)) },
        );
        const root = model_version.tags.find((t) => t.key === 'skiff.artifact_root')!.value;
        await writeFile(path.join(server!.artifactsDir, root, 'model', file), content);
      },
      cleanup: () => rm(cache, { recursive: true, force: true }),
    };
  },
  { skip },
);

describeExperimentTrackerContract('mlflow', async () => ({ tracker: createMlflowTracker({ trackingUri: url() }) }), {
  skip,
});

describe.skipIf(Boolean(skip))('mlflow adapter specifics', () => {
  it('encodes metric names MLflow refuses (hr@20) reversibly', () => {
    for (const k of ['hr@20', 'mrr@20', 'a:b', 'plain_name-1.2/x y', 'ünï']) expect(decodeKey(encodeKey(k))).toBe(k);
    expect(encodeKey('hr@20')).toBe('hr:4020');
    expect(encodeKey('loss')).toBe('loss');
  });

  it('shows a registered version in MLflow itself: model version, alias, run params and metrics', async () => {
    const modelName = `skiff-${rand()}`;
    const src = await mkdtemp(path.join(os.tmpdir(), 'skiff-mlflow-src-'));
    await writeFile(path.join(src, 'model.json'), '{}');
    const reg = createMlflowRegistry({ trackingUri: url(), modelName, cacheDir: path.join(src, '.cache') });
    const m = await reg.register({
      name: 'gru4rec',
      sourceDir: src,
      metrics: { 'hr@20': 0.31 },
      baselineMetrics: { pop: { 'hr@20': 0.1 } },
      params: { epochs: 3 },
      lineage: { snapshotId: 's1', loadIds: [], codeVersion: 't', backend: 'wasm' },
    });
    await reg.setAlias('production', m.version, { actor: 'ana', reason: 'first' });
    const client = createMlflowClient({ trackingUri: url() });
    const { registered_model } = await client.get<{
      registered_model: { aliases: Array<{ alias: string; version: string }> };
    }>('registered-models/get', { name: modelName });
    expect(registered_model.aliases).toEqual([{ alias: 'production', version: '1' }]);
    const { model_version } = await client.get<{ model_version: { run_id: string; source: string } }>(
      'model-versions/get',
      { name: modelName, version: 1 },
    );
    expect(model_version.source).toMatch(/^mlflow-artifacts:\/.+\/model$/);
    const { run } = await client.get<{
      run: { data: { params: Array<{ key: string; value: string }>; metrics: Array<{ key: string; value: number }> } };
    }>('runs/get', { run_id: model_version.run_id });
    expect(run.data.params).toEqual([{ key: 'epochs', value: '3' }]);
    expect(Object.fromEntries(run.data.metrics.map((x) => [x.key, x.value]))).toEqual({
      'hr:4020': 0.31,
      'baseline.pop.hr:4020': 0.1,
    });
    await rm(src, { recursive: true, force: true });
  });

  it('reports an unreachable server as SOURCE_UNAVAILABLE (retryable)', async () => {
    const reg = createMlflowRegistry({ trackingUri: 'http://127.0.0.1:9', timeoutMs: 2_000 });
    await expect(reg.aliases()).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
  });
});
