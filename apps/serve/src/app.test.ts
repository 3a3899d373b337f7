import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type ModelManifest, type Recommender } from '@skiff/core';
import { createApp } from './app.js';
import type { LoadedModel, ModelHolder } from './model-holder.js';
import { createNdjsonServingLog, type ServingLog } from './serving-log.js';

/** A fake recommender: ranks the vocabulary in a fixed order (the HTTP layer is under test here). */
const fake: Recommender = {
  name: 'fake',
  vocabulary: ['a', 'b', 'c', 'd'],
  recommend: (_h, k, exclude) => ['a', 'b', 'c', 'd'].filter((i) => !exclude?.has(i)).slice(0, k).map((itemId, r) => ({ itemId, score: 1 / (r + 1) })),
  recommendBatch: () => [],
};
const loaded: LoadedModel = { recommender: fake, manifest: { name: 'fake', version: 'v0001' } as ModelManifest, known: new Set(fake.vocabulary) };

describe('serving app', () => {
  let dir: string;
  let log: ServingLog;
  let current: LoadedModel | null;
  const holder: ModelHolder = { current: () => current, refresh: async () => ({ changed: false, version: null }) };
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-serve-'));
    log = createNdjsonServingLog(dir);
    current = loaded;
  });
  afterEach(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('recommends k items, counts unknown items and logs the request', async () => {
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    const res = await request(app).post('/v1/recommendations').send({ items: ['a', 'zzz'], k: 2, sessionId: 's1', exclude: ['a'] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [{ itemId: 'b', score: 1 }, { itemId: 'c', score: 0.5 }], model: { name: 'fake', version: 'v0001' }, unknownItems: 1 });
    await log.close();
    const [file] = await readdir(dir);
    const rec = JSON.parse((await readFile(path.join(dir, file!), 'utf8')).trim()) as Record<string, unknown>;
    expect(rec).toMatchObject({ sessionId: 's1', items: ['a', 'zzz'], k: 2, unknownItems: 1, model: { version: 'v0001' } });
  });

  it.each([
    ['malformed JSON', '{"items": [', 400],
    ['wrong type', JSON.stringify({ items: 'a' }), 400],
    ['unknown field', JSON.stringify({ items: ['a'], foo: 1 }), 400],
    ['k out of range', JSON.stringify({ items: ['a'], k: 0 }), 400],
  ])('refuses %s with a JSON error', async (_name, body, status) => {
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    const res = await request(app).post('/v1/recommendations').set('content-type', 'application/json').send(body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe('BAD_INPUT');
    expect(typeof res.body.error.message).toBe('string');
  });

  it('reports readiness and metrics', async () => {
    current = null;
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect((await request(app).post('/v1/recommendations').send({ items: ['a'] })).status).toBe(503);
    current = loaded;
    expect((await request(app).get('/readyz')).body.model.version).toBe('v0001');
    await request(app).post('/v1/recommendations').send({ items: ['a'] });
    const m = await request(app).get('/metrics');
    expect(m.text).toMatch(/skiff_recommendations_total\{model_version="v0001"\} 1/);
    expect(m.text).toMatch(/skiff_model_info\{name="fake",version="v0001"\} 1/);
  });
});
