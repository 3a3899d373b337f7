import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type ModelRegistry } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import { createApp } from './app.js';
import { createModelHolder } from './model-holder.js';
import { load, post, register, startFixedServer } from './test-helpers/fixed-server.js';
import { createNdjsonServingLog } from './serving-log.js';

describe('serving under bad input, promotion and shutdown', () => {
  let dir: string;
  let reg: ModelRegistry;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-serve-it-'));
    reg = createFsRegistry({ root: path.join(dir, 'registry') });
    await reg.setAlias('production', await register(reg, path.join(dir, 'a1'), ['a', 'b', 'c', 'd', 'e']));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('answers a corpus of malformed requests with 4xx JSON errors, never a 5xx, and stays up', async () => {
    const models = createModelHolder({ registry: reg, alias: 'production', load, logger: silentLogger });
    await models.refresh();
    const log = createNdjsonServingLog(path.join(dir, 'log'));
    const app = createApp({ models, servingLog: log, logger: silentLogger });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    // Valid JSON with odd but legal strings is a request for unknown items: 200 or 4xx, never 5xx.
    const odd = new Set(['{"items": ["\\ud800"]}', '{"items": ["\u0000\u202e\uffff😀"]}']);
    const corpus: Array<[string, string]> = [
      ['application/json', '{"items": ['],
      ['application/json', ''],
      ['application/json', 'null'],
      ['application/json', '42'],
      ['application/json', '"items"'],
      ['application/json', '[]'],
      ['application/json', '{"items": "a"}'],
      ['application/json', '{"items": [1, 2]}'],
      ['application/json', '{"items": [null]}'],
      ['application/json', '{"items": [""]}'],
      ['application/json', '{"items": ["a"], "k": "20"}'],
      ['application/json', '{"items": ["a"], "k": 1e9}'],
      ['application/json', '{"items": ["a"], "k": -1}'],
      ['application/json', '{"items": ["a"], "k": 2.5}'],
      ['application/json', '{"items": ["a"], "exclude": "a"}'],
      ['application/json', '{"items": ["a"], "__proto__": {"polluted": 1}}'],
      ['application/json', '{"items": ["a"], "constructor": {"prototype": {}}}'],
      ['application/json', JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => `i${i}`) })],
      ['application/json', JSON.stringify({ items: ['x'.repeat(300_000)] })],
      ['application/json', deep],
      ['application/json', '{"items": ["\\ud800"]}'],
      ['application/json', '{"items": ["\u0000\u202e\uffff😀"]}'],
      ['application/json; charset=latin-9', '{"items": ["a"]}'],
      ['text/plain', '{"items": ["a"]}'],
      ['application/x-www-form-urlencoded', 'items=a'],
      ['', '{"items": ["a"]}'],
    ];
    const statuses: number[] = [];
    try {
      for (const [type, body] of corpus)
        for (const route of ['/v1/recommendations', '/v1/recommendations:batch', '/v1/events']) {
          const res = await fetch(url + route, { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
          statuses.push(res.status);
          const what = `${route} ${type} ${body.slice(0, 40)}`;
          expect(res.status, what).toBeLessThan(500);
          if (!(odd.has(body) && route === '/v1/recommendations')) {
            expect(res.status, what).toBeGreaterThanOrEqual(400);
            const json = (await res.json()) as { error: { code: string; message: string } };
            expect(typeof json.error.code).toBe('string');
            expect(json.error.message).not.toMatch(/\n\s+at /); // no stack traces
          } else await res.arrayBuffer();
        }
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect((await fetch(url + '/healthz')).status).toBe(200);
      expect((await post(url + '/v1/recommendations', { items: ['a'] })).status).toBe(200);
    } finally {
      server.close();
      await log.close();
    }
  });

  it('swaps to a promoted version under continuous traffic with zero failed requests; a corrupt version never serves', async () => {
    const s = await startFixedServer(reg, dir, { pollMs: 20 });
    const seen: string[] = [];
    let failures = 0;
    let stop = false;
    const client = (async () => {
      while (!stop) {
        const r = await post(s.url + '/v1/recommendations', { items: ['a'], k: 2 }).catch(() => null);
        if (!r || r.status !== 200) failures++;
        else seen.push(((await r.json()) as { model: { version: string } }).model.version);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const v2 = await register(reg, path.join(dir, 'a2'), ['z', 'y', 'x']);
    await reg.setAlias('production', v2);
    await new Promise((r) => setTimeout(r, 300));
    // A version whose files no longer match the manifest is refused; v2 keeps serving.
    const v3 = await register(reg, path.join(dir, 'a3'), ['q']);
    await writeFile(path.join(dir, 'registry', 'versions', v3, 'vocabulary.json'), '["tampered"]');
    await expect(reg.setAlias('production', v3)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPTED' });
    // Moved by hand, around the registry's own check: serving refuses it too.
    await writeFile(path.join(dir, 'registry', 'aliases.json'), JSON.stringify({ production: v3 }));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await client;
    const metrics = await (await fetch(s.url + '/metrics')).text();
    await s.close();
    expect(failures).toBe(0);
    expect(seen[0]).toBe('v0001');
    expect(seen.at(-1)).toBe(v2);
    expect(seen).not.toContain(v3);
    // Once switched, never back.
    expect(seen.slice(seen.indexOf(v2))).toEqual(Array(seen.length - seen.indexOf(v2)).fill(v2));
    expect(metrics).toMatch(new RegExp(`skiff_model_load_failures_total\\{version="${v3}"\\} 1`));
    expect(metrics).toMatch(
      /skiff_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/recommendations",status="200"\}/,
    );
  });

  it('on SIGTERM finishes in-flight requests and every answered request is in the serving log', async () => {
    const logDir = path.join(dir, 'log');
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./test-helpers/serve-child.mjs', import.meta.url)), path.join(dir, 'registry'), logDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const url = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const answered: string[] = [];
    let n = 0;
    const lanes = Array.from({ length: 8 }, async () => {
      for (;;) {
        const id = `req-${n++}`;
        const r = await post(url + '/v1/recommendations', { items: ['a'], k: 3, sessionId: id }).catch(() => null);
        if (!r) return; // server gone: connection refused or reset
        if (r.status === 200) answered.push(id);
      }
    });
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGTERM');
    await Promise.all(lanes);
    expect(await exited).toBe(0);
    const logged = new Set<string>();
    for (const f of await readdir(logDir))
      for (const line of (await readFile(path.join(logDir, f), 'utf8')).split('\n'))
        if (line) logged.add((JSON.parse(line) as { sessionId: string }).sessionId);
    expect(answered.length).toBeGreaterThan(20);
    expect(answered.filter((id) => !logged.has(id))).toEqual([]);
  });
});
