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
  recommend: (_h, k, exclude) =>
    ['a', 'b', 'c', 'd']
      .filter((i) => !exclude?.has(i))
      .slice(0, k)
      .map((itemId, r) => ({ itemId, score: 1 / (r + 1) })),
  recommendBatch: (hs, k) => hs.map((h) => fake.recommend(h, k)),
};
const loaded: LoadedModel = {
  recommender: fake,
  manifest: { name: 'fake', version: 'v0001' } as ModelManifest,
  known: new Set(fake.vocabulary),
};

/** A signed request id: a UUID and its HMAC (request-ids.ts). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

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
    const res = await request(app)
      .post('/v1/recommendations')
      .send({ items: ['a', 'zzz'], k: 2, sessionId: 's1', exclude: ['a'] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { itemId: 'b', score: 1 },
        { itemId: 'c', score: 0.5 },
      ],
      model: { name: 'fake', version: 'v0001' },
      unknownItems: 1,
      requestId: expect.stringMatching(UUID),
    });
    // Written without res.json (json.ts): the same headers, and no ETag hashing.
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['etag']).toBeUndefined();
    await log.close();
    const [file] = await readdir(dir);
    const rec = JSON.parse((await readFile(path.join(dir, file!), 'utf8')).trim()) as Record<string, unknown>;
    // The logged record carries the requestId the client got: follow-up clicks can name it.
    expect(rec).toMatchObject({
      sessionId: 's1',
      items: ['a', 'zzz'],
      k: 2,
      unknownItems: 1,
      model: { version: 'v0001' },
      requestId: res.body.requestId,
    });
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

  it('answers the batch form per session, and refuses more than 100 sessions', async () => {
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    const res = await request(app)
      .post('/v1/recommendations:batch')
      .send({
        requests: [
          { items: ['a'], k: 1 },
          { items: ['q'], k: 2, exclude: ['a'] },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: [
        { items: [{ itemId: 'a', score: 1 }], unknownItems: 0, requestId: expect.stringMatching(UUID) },
        {
          items: [
            { itemId: 'b', score: 1 },
            { itemId: 'c', score: 0.5 },
          ],
          unknownItems: 1,
          requestId: expect.stringMatching(UUID),
        },
      ],
      model: { name: 'fake', version: 'v0001' },
    });
    const tooMany = await request(app)
      .post('/v1/recommendations:batch')
      .send({ requests: Array.from({ length: 101 }, () => ({ items: ['a'] })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/requests/);
  });

  it('accepts follow-up events carrying a request id issued for their session, stamped with the server time', async () => {
    const events: unknown[] = [];
    const eventsLog = {
      append: (e: unknown) => void events.push(e),
      depth: () => 0,
      health: () => ({ error: null, since: null, written: 0, dropped: 0, errors: 0, removedFiles: 0 }),
      close: async () => {},
    };
    const app = createApp({
      models: holder,
      servingLog: log,
      eventsLog,
      logger: silentLogger,
      now: () => new Date('2026-01-02T03:04:05.000Z'),
    });
    const rid = (
      await request(app)
        .post('/v1/recommendations')
        .send({ items: ['a'], sessionId: 's1' })
    ).body.requestId as string;
    const res = await request(app)
      .post('/v1/events')
      .send({
        events: [
          { sessionId: 's1', itemId: 'b', requestId: rid },
          { sessionId: 's1', itemId: 'c', eventType: 'purchase', ts: '2026-01-02T03:05:00Z', requestId: rid },
        ],
      });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 2, refused: 0, refusals: [] });
    expect(events).toEqual([
      { session_id: 's1', event_type: 'click', item_id: 'b', timestamp: '2026-01-02T03:04:05.000Z', request_id: rid },
      {
        session_id: 's1',
        event_type: 'purchase',
        item_id: 'c',
        timestamp: '2026-01-02T03:04:05.000Z',
        request_id: rid,
        client_timestamp: '2026-01-02T03:05:00Z',
      },
    ]);
    // Another session's id, an invented one, and a client clock far ahead are refused one by one.
    const other = await request(app)
      .post('/v1/events')
      .send({
        events: [
          { sessionId: 's2', itemId: 'b', requestId: rid },
          { sessionId: 's1', itemId: 'b', requestId: 'r-1' },
          { sessionId: 's1', itemId: 'b', requestId: rid, ts: '2099-01-01T00:00:00Z' },
          // Ten fraction digits pass zod's ISO check but not core's parser: refused, not waved through.
          { sessionId: 's1', itemId: 'b', requestId: rid, ts: '2099-01-01T00:00:00.0000000000Z' },
        ],
      });
    expect(other.body).toEqual({
      accepted: 0,
      refused: 4,
      refusals: [
        { index: 0, reason: 'unverified_request_id' },
        { index: 1, reason: 'unverified_request_id' },
        { index: 2, reason: 'future_client_time' },
        { index: 3, reason: 'future_client_time' },
      ],
    });
    expect(events).toHaveLength(2);
    expect(
      (
        await request(app)
          .post('/v1/events')
          .send({ events: [{ sessionId: 's1' }] })
      ).status,
    ).toBe(400);
    expect(
      (
        await request(app)
          .post('/v1/events')
          .send({ events: [{ sessionId: 's1', itemId: 'b' }] })
      ).status,
    ).toBe(400);
    // A client time that is no calendar date is refused, not rolled over into March.
    expect(
      (
        await request(app)
          .post('/v1/events')
          .send({ events: [{ sessionId: 's1', itemId: 'b', requestId: rid, ts: '2026-02-30T00:00:00Z' }] })
      ).status,
    ).toBe(400);
    expect(events).toHaveLength(2);
  });

  it('refuses other content types (415), oversize bodies (413) and unknown routes (404) as JSON', async () => {
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    const text = await request(app)
      .post('/v1/recommendations')
      .set('content-type', 'text/plain')
      .send('{"items":["a"]}');
    expect([text.status, text.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const big = await request(app)
      .post('/v1/recommendations')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ items: ['x'.repeat(300_000)] }));
    expect([big.status, big.body.error.code]).toEqual([413, 'BAD_INPUT']);
    const tooManyItems = await request(app)
      .post('/v1/recommendations')
      .send({ items: Array.from({ length: 201 }, (_, i) => `i${i}`) });
    expect(tooManyItems.status).toBe(400);
    const nope = await request(app).get('/v2/nothing');
    expect([nope.status, nope.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('reports readiness and metrics', async () => {
    current = null;
    const app = createApp({ models: holder, servingLog: log, logger: silentLogger });
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect(
      (
        await request(app)
          .post('/v1/recommendations')
          .send({ items: ['a'] })
      ).status,
    ).toBe(503);
    current = loaded;
    expect((await request(app).get('/readyz')).body.model.version).toBe('v0001');
    await request(app)
      .post('/v1/recommendations')
      .send({ items: ['a'] });
    const m = await request(app).get('/metrics');
    expect(m.text).toMatch(/skiff_recommendations_total\{model_version="v0001"\} 1/);
    expect(m.text).toMatch(/skiff_model_info\{name="fake",version="v0001"\} 1/);
    expect(m.text).toMatch(/skiff_http_requests_total\{route="\/v1\/recommendations",status="503"\} 1/);
    expect(m.text).toMatch(/skiff_serving_log_queue_depth \d+/);
    expect(m.text).toMatch(/skiff_http_request_duration_seconds_count\{route="\/readyz",status="200"\} 1/);
  });
});
