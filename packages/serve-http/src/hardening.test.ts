import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type ModelRegistry } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import { cachedRead } from './dashboard/router.js';
import { startServer, type RunningServer, type StartServerOptions } from './server.js';
import { createNdjsonLog } from './serving-log.js';
import { lineage, load, post, writeArtifact } from './test-helpers/fixed-server.js';

/** A GET with a Host header of our choosing (fetch does not let a caller set Host). */
function getWithHost(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP hardening through the real server', () => {
  let dir: string;
  let reg: ModelRegistry;
  let server: RunningServer | null = null;
  const start = (extra: Partial<StartServerOptions> = {}) =>
    startServer({
      registry: reg,
      load,
      servingLogDir: path.join(dir, 'log'),
      eventsDir: path.join(dir, 'online'),
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      dashboard: { reportsDir: path.join(dir, 'reports'), rawDir: path.join(dir, 'raw') },
      ...extra,
    });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-harden-'));
    reg = createFsRegistry({ root: path.join(dir, 'registry') });
    await writeArtifact(path.join(dir, 'a1'), ['a', 'b', 'c']);
    const v = (await reg.register({ name: 'fixed', sourceDir: path.join(dir, 'a1'), metrics: {}, params: {}, lineage }))
      .version;
    await reg.setAlias('production', v);
  });
  afterEach(async () => {
    await server?.close();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('sends security headers, and a CSP that allows only the dashboard script by hash', async () => {
    server = await start();
    const res = await fetch(server.url + '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-eval/);
    // skiff speaks plain HTTP: HSTS belongs to the TLS proxy in front (docs/security.md).
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('refuses an events post of more than 1,000 events as a whole, and writes none of it', async () => {
    server = await start({ servingLog: { flushMs: 5 } });
    const { requestId } = (await (
      await post(server.url + '/v1/recommendations', { items: ['a'], sessionId: 's1' })
    ).json()) as {
      requestId: string;
    };
    const event = { sessionId: 's1', itemId: 'b', requestId };
    const tooMany = await post(server.url + '/v1/events', { events: Array.from({ length: 1_001 }, () => event) });
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('BAD_INPUT');
    const most = await post(server.url + '/v1/events', { events: Array.from({ length: 1_000 }, () => event) });
    expect(((await most.json()) as { accepted: number }).accepted).toBe(1_000);
    await server.close();
    server = null;
    const { readFile } = await import('node:fs/promises');
    const files = await readdir(path.join(dir, 'online'));
    const lines = (await Promise.all(files.map((f) => readFile(path.join(dir, 'online', f), 'utf8')))).join('').trim();
    expect(lines.split('\n')).toHaveLength(1_000);
  });

  it('refuses ids past 256 characters, lone surrogates and oversized batches with a 400, and logs nothing for them', async () => {
    server = await start();
    const bad = [
      ['/v1/recommendations', { items: ['x'.repeat(257)] }],
      ['/v1/recommendations', { items: ['a'], sessionId: 's'.repeat(257) }],
      ['/v1/recommendations', { items: ['\ud800'] }],
      ['/v1/recommendations', { items: ['a'], exclude: ['\udc00x'] }],
      ['/v1/recommendations:batch', { requests: Array.from({ length: 100 }, () => ({ items: ['a'], k: 200 })) }],
    ] as const;
    for (const [route, body] of bad) {
      const r = await post(server.url + route, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('BAD_INPUT');
    }
    // The largest batch allowed: 100 requests, 2,000 items in all.
    const ok = await post(server.url + '/v1/recommendations:batch', {
      requests: Array.from({ length: 100 }, () => ({ items: ['a'], k: 20 })),
    });
    expect(ok.status).toBe(200);
    await server.close();
    server = null;
    const files = await readdir(path.join(dir, 'log'));
    const { readFile } = await import('node:fs/promises');
    const lines = (await Promise.all(files.map((f) => readFile(path.join(dir, 'log', f), 'utf8'))))
      .join('')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(100);
  });

  it('rate-limits one address with a JSON 429, and keeps /healthz and /readyz answering', async () => {
    server = await start({ rateLimitPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await post(server.url + '/v1/recommendations', { items: ['a'] })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const r = await post(server.url + '/v1/recommendations', { items: ['a'] });
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect(r.headers.get('ratelimit-policy')).toMatch(/5/);
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
    expect((await fetch(server.url + '/readyz')).status).toBe(200);
  });

  it('puts /metrics behind a token when configured', async () => {
    server = await start({ metricsToken: 'secret-token-0123456789' });
    expect((await fetch(server.url + '/metrics')).status).toBe(401);
    expect((await fetch(server.url + '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(server.url + '/metrics', { headers: { authorization: 'Bearer secret-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/skiff_model_info/);
  });

  it('credits events across a restart only under a configured request-id secret', async () => {
    const across = async (secret?: string) => {
      server = await start(secret ? { requestIdSecret: secret } : {});
      const { requestId } = (await (
        await post(server.url + '/v1/recommendations', { items: ['a'], sessionId: 's1' })
      ).json()) as { requestId: string };
      await server.close();
      server = await start(secret ? { requestIdSecret: secret } : {});
      const r = (await (
        await post(server.url + '/v1/events', { events: [{ sessionId: 's1', itemId: 'b', requestId }] })
      ).json()) as { accepted: number; refusals: Array<{ reason: string }> };
      await server.close();
      server = null;
      return r;
    };
    // Without a secret each process signs with its own random one: the old id is refused.
    expect(await across()).toMatchObject({ accepted: 0, refusals: [{ reason: 'unverified_request_id' }] });
    expect(await across('s'.repeat(32))).toMatchObject({ accepted: 1 });
  });

  it('with both a metrics port and a token, wants the token there too; metrics hold no request content', async () => {
    server = await start({ metricsPort: 0, metricsToken: 'secret-token-0123456789' });
    await post(server.url + '/v1/recommendations', {
      items: ['a', 'unknown-item-7f3'],
      sessionId: 'private-session-42',
    });
    expect((await fetch(server.metricsUrl!)).status).toBe(401);
    const ok = await fetch(server.metricsUrl!, { headers: { authorization: 'Bearer secret-token-0123456789' } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toMatch(/skiff_model_info\{name="fixed",version="v0001"\} 1/);
    expect(text).not.toMatch(/private-session-42|unknown-item-7f3/);
  });

  it('serves /metrics only on its own port when configured', async () => {
    server = await start({ metricsPort: 0 });
    expect((await fetch(server.url + '/metrics')).status).toBe(404);
    expect(server.metricsUrl).toBeDefined();
    const m = await fetch(server.metricsUrl!);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/skiff_http_requests_total/);
    expect((await fetch(server.metricsUrl!.replace('/metrics', '/v1/recommendations'))).status).toBe(404);
  });

  it('answers the dashboard only for the configured host names and same-origin requests', async () => {
    server = await start();
    const url = server.url + '/dashboard/api/info';
    const port = new URL(server.url).port;
    expect((await getWithHost(url, `127.0.0.1:${port}`)).status).toBe(200);
    expect((await getWithHost(url, `localhost:${port}`)).status).toBe(200);
    expect((await getWithHost(url, `evil.example:${port}`)).status).toBe(421);
    expect((await getWithHost(url, `localhost:${port}`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await getWithHost(url, `localhost:${port}`, { origin: 'null' })).status).toBe(403);
    expect((await getWithHost(url, `localhost:${port}`, { origin: `http://localhost:${port}` })).status).toBe(200);
    // The API itself is not host-bound (clients reach it under any name).
    expect((await getWithHost(server.url + '/healthz', `evil.example:${port}`)).status).toBe(200);
    await server.close();
    server = await start({ dashboardHosts: ['shop.example'] });
    expect((await getWithHost(server.url + '/dashboard/api/info', 'shop.example')).status).toBe(200);
    expect(
      (await getWithHost(server.url + '/dashboard/api/info', `localhost:${new URL(server.url).port}`)).status,
    ).toBe(421);
  });

  it('does not follow a symlink out of the reports folder, and serves reports sandboxed', async () => {
    const run = path.join(dir, 'reports', '2026-01-01T00-00-00Z');
    await mkdir(run, { recursive: true });
    await writeFile(path.join(run, 'report.html'), '<html>ok</html>');
    await writeFile(path.join(dir, 'secret.txt'), 'secret');
    await symlink(path.join(dir, 'secret.txt'), path.join(run, 'leak.html'));
    await symlink(dir, path.join(dir, 'reports', '2026-01-02T00-00-00Z'));
    server = await start();
    const ok = await fetch(server.url + '/dashboard/reports/2026-01-01T00-00-00Z/report.html');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts/);
    expect((await fetch(server.url + '/dashboard/reports/2026-01-01T00-00-00Z/leak.html')).status).toBe(404);
    expect((await fetch(server.url + '/dashboard/reports/2026-01-02T00-00-00Z/secret.txt')).status).toBe(404);
  });
});

describe('bounded disk and reads', () => {
  it('rotates the log by size and removes the oldest files past the retention cap', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-retain-'));
    try {
      const log = createNdjsonLog<{ i: number; pad: string }>({
        dir,
        prefix: 'serving',
        maxBytes: 2_000,
        retainBytes: 10_000,
        flushMs: 1,
        flushRecords: 1,
      });
      // One record per write, so that files roll over at the size (a file may exceed it by one write).
      for (let i = 0; i < 400; i++) {
        log.append({ i, pad: 'x'.repeat(80) });
        while (log.health().written <= i) await new Promise((r) => setTimeout(r, 1));
      }
      await log.close();
      const files = await readdir(dir);
      const { stat } = await import('node:fs/promises');
      const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(dir, f))).size));
      const total = sizes.reduce((a, b) => a + b, 0);
      // The cap holds up to one file's worth (the current file is never removed).
      expect(total).toBeLessThanOrEqual(10_000 + 2_200);
      expect(log.health().removedFiles).toBeGreaterThan(0);
      expect(log.health().written).toBe(400);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts a new file each UTC day and removes files last written more than retainDays ago', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-retain-days-'));
    try {
      // A file of this log from 40 days ago, and one of another log that retention must not touch.
      const old = path.join(dir, 'serving-20260101-1-001.ndjson');
      const other = path.join(dir, 'events-20260101-1-001.ndjson');
      await writeFile(old, '{"old":true}\n');
      await writeFile(other, '{"other":true}\n');
      const forty = new Date(Date.UTC(2026, 0, 1));
      await utimes(old, forty, forty);
      await utimes(other, forty, forty);
      let clock = Date.UTC(2026, 1, 10, 23, 59, 59);
      const log = createNdjsonLog<{ i: number }>({
        dir,
        prefix: 'serving',
        retainDays: 30,
        flushMs: 1,
        flushRecords: 1,
        now: () => new Date(clock),
      });
      log.append({ i: 0 });
      while (log.health().written < 1) await new Promise((r) => setTimeout(r, 1));
      clock = Date.UTC(2026, 1, 11, 0, 0, 1);
      log.append({ i: 1 });
      while (log.health().written < 2) await new Promise((r) => setTimeout(r, 1));
      await log.close();
      const files = (await readdir(dir)).sort();
      expect(files).toEqual([
        'events-20260101-1-001.ndjson',
        `serving-20260210-${process.pid}-001.ndjson`,
        `serving-20260211-${process.pid}-001.ndjson`,
      ]);
      expect(log.health().removedFiles).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shares one dashboard read between calls within the cache time', async () => {
    let reads = 0;
    let t = 0;
    const read = cachedRead(
      async () => ++reads,
      1_000,
      () => t,
    );
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    t = 999;
    expect(await read()).toBe(1);
    t = 1_000;
    expect(await read()).toBe(2);
    let fail = true;
    const flaky = cachedRead(
      async () => {
        if (fail) throw new Error('x');
        return 'ok';
      },
      1_000,
      () => 0,
    );
    await expect(flaky()).rejects.toThrow('x');
    fail = false;
    expect(await flaky()).toBe('ok');
  });
});
