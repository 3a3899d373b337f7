/**
 * Micro-batching through `skiff serve` (startServing) with real neural models: requests that arrive
 * together are scored in one model call, and each answer is the one the model gives that request
 * alone: the same items in the same order, the same scores up to float noise.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@skiff/config';
import { mulberry32, silentLogger, type NeuralKind } from '@skiff/core';
import { disposeModel, loadRecommender, trainGru4Rec, type LoadedModel } from '@skiff/model';
import { buildRegistry } from './pipeline.js';
import { startServing } from './serving.js';

const ITEMS = 300;
/**
 * POSTs every body on its own connection, all written in one go once the server holds every
 * connection (each has answered a first GET /healthz), so that the server reads them in the same
 * turn of its event loop, as under load. Returns each answer's status and JSON body.
 */
async function postTogether(
  url: string,
  path: string,
  bodies: unknown[],
): Promise<Array<{ status: number; body: unknown }>> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(port), hostname);
          s.setEncoding('utf8');
          s.once('error', reject);
          let warm = '';
          const onData = (d: string) => {
            warm += d;
            if (!warm.includes('"status":"ok"')) return;
            s.off('data', onData);
            resolve(s);
          };
          s.on('data', onData);
          s.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
        }),
    ),
  );
  const answers = sockets.map(
    (s) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        let raw = '';
        s.on('data', (d: string) => (raw += d));
        s.once('error', reject);
        s.once('end', () => {
          const [head, ...rest] = raw.split('\r\n\r\n');
          resolve({ status: Number(head!.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n')) });
        });
      }),
  );
  sockets.forEach((s, i) => {
    const json = JSON.stringify(bodies[i]);
    s.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  });
  return Promise.all(answers);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

// GRU4Rec with each cell: reset-after (params naming no cell) is tfjs ops; reset-before answers
// through TensorFlow's fused GRU kernel on tfjs-node, whose batches must answer as alone too.
const cases: Array<{ label: string; kind: NeuralKind; cell?: 'reset-before' }> = [
  { label: 'gru4rec', kind: 'gru4rec' },
  { label: 'gru4rec-reset-before', kind: 'gru4rec', cell: 'reset-before' },
  { label: 'sasrec', kind: 'sasrec' },
];

describe.each(cases)('skiff serve with $label: micro-batched answers', ({ label, kind, cell }) => {
  let root: string;
  let artifact: string;
  let single: LoadedModel;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), `skiff-serving-batch-${label}-`));
    const r = mulberry32(3);
    const sessions = Array.from({ length: 400 }, (_, i) => [
      `i${i % ITEMS}`,
      `i${Math.floor(r() * ITEMS)}`,
      `i${Math.floor(r() * ITEMS)}`,
    ]);
    const model = await trainGru4Rec({
      train: sessions,
      params: {
        model: kind,
        embeddingDim: 16,
        hiddenUnits: 16,
        maxLen: 6,
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
        seed: 2,
        ...(cell ? { cell } : {}),
      },
    });
    artifact = path.join(root, 'artifact');
    await model.save(artifact);
    model.dispose();
    // The artifact served is the cell's (params naming no cell train reset-after).
    const saved = JSON.parse(await readFile(path.join(artifact, 'config.json'), 'utf8')) as {
      params: { cell?: string };
    };
    if (kind === 'gru4rec') expect(saved.params.cell).toBe(cell ?? 'reset-after');
    const config = loadConfig({ SKIFF_DATA_DIR: path.join(root, 'data') });
    const registry = buildRegistry(config);
    const v = await registry.register({
      name: kind,
      sourceDir: artifact,
      metrics: {},
      params: {},
      lineage: { snapshotId: 's', loadIds: [], codeVersion: 'test', backend: 'test' },
    });
    await registry.setAlias('production', v.version);
    single = await loadRecommender(artifact);
  }, 120_000);

  afterAll(async () => {
    if (single) disposeModel(single);
    await rm(root, { recursive: true, force: true });
  });

  it('scores concurrent requests together and answers each as the model answers it alone', async () => {
    const config = loadConfig({ SKIFF_DATA_DIR: path.join(root, 'data'), SKIFF_RATE_LIMIT_PER_MINUTE: '100000' });
    const server = await startServing(config, silentLogger, { host: '127.0.0.1', port: 0 });
    try {
      const r = mulberry32(9);
      // Histories of 1–8 items (longer than maxLen too), some with an unknown item, k from 1 to 30.
      const asks = Array.from({ length: 48 }, (_, i) => ({
        items: [
          ...Array.from({ length: 1 + Math.floor(r() * 8) }, () => `i${Math.floor(r() * ITEMS)}`),
          ...(i % 7 === 0 ? ['not-an-item'] : []),
        ],
        k: 1 + Math.floor(r() * 30),
      }));
      const callsBefore = await metric(server.url, 'skiff_model_batches_total');
      const answers = (await postTogether(server.url, '/v1/recommendations', asks)).map((a) => {
        expect(a.status).toBe(200);
        return a.body as { items: Array<{ itemId: string; score: number }> };
      });
      const calls = (await metric(server.url, 'skiff_model_batches_total')) - (callsBefore || 0);
      const scored = await metric(server.url, 'skiff_model_batched_requests_total');
      expect(scored).toBe(asks.length);
      // Fewer model calls than requests: some were scored together.
      expect(calls).toBeLessThan(asks.length);
      asks.forEach((a, i) => {
        const alone = single.recommend(a.items, a.k);
        const got = answers[i]!.items;
        // The same items in the same order; the scores as the app rounds them (6 decimals), up to
        // float noise (a batched matMul may round differently in the last bit, as the Recommender
        // contract allows).
        expect(
          got.map((x) => x.itemId),
          JSON.stringify(a),
        ).toEqual(alone.map((x) => x.itemId));
        got.forEach((x, j) =>
          expect(Math.abs(x.score - alone[j]!.score), `${JSON.stringify(a)}: ${x.itemId}`).toBeLessThanOrEqual(
            1e-6 + 1e-5 * Math.max(1, Math.abs(x.score)),
          ),
        );
      });
    } finally {
      await server.close();
    }
  }, 120_000);
});
