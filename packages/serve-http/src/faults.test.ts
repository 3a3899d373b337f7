import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRegistry } from '@skiff/core';
import { createFsRegistry } from '@skiff/registry';
import type { RunningServer } from './server.js';
import { post, register, startFixedServer } from './test-helpers/fixed-server.js';

/**
 * Real faults under a running server: the registry files unreadable or corrupt, the log folder
 * gone, a full file system. Each time every valid request is answered, /readyz and /metrics name
 * the fault, and the server recovers when the fault ends.
 */

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Ready {
  status: string;
  model?: { version: string };
  faults: Array<{ component: string; error: string }>;
}
const ready = async (url: string) => (await (await fetch(url + '/readyz')).json()) as Ready;
const metric = async (url: string, name: string) => {
  const text = await (await fetch(url + '/metrics')).text();
  const line = text.split('\n').find((l) => l.split(' ')[0] === name);
  return line ? Number(line.split(' ').at(-1)) : NaN;
};

/** Sends n valid requests with distinct session ids; every one must be answered with a 200. */
async function traffic(url: string, tag: string, n: number, items = ['a']) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    const r = await post(url + '/v1/recommendations', { items, k: 2, sessionId: id });
    expect(r.status, `${tag} request ${i}`).toBe(200);
    await r.arrayBuffer();
    ids.push(id);
  }
  return ids;
}

async function loggedSessions(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of await readdir(dir).catch(() => [] as string[]))
    for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) {
      try {
        out.add((JSON.parse(line) as { sessionId: string }).sessionId);
      } catch {
        /* a torn line where a write failed */
      }
    }
  return out;
}

describe('serving survives I/O faults', () => {
  let dir: string;
  let reg: ModelRegistry;
  let server: RunningServer | null = null;
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-faults-'));
    reg = createFsRegistry({ root: path.join(dir, 'registry') });
    await reg.setAlias('production', await register(reg, path.join(dir, 'a1'), ['a', 'b', 'c']));
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onRejection);
    await server?.close();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the last good model while aliases.json is unreadable or corrupt, reports it, and follows promotions again after', async () => {
    server = await startFixedServer(reg, dir);
    const url = server.url;
    expect((await ready(url)).status).toBe('ready');
    const aliasFile = path.join(dir, 'registry', 'aliases.json');
    const good = await readFile(aliasFile, 'utf8');

    // Unreadable: a directory where the file should be (EISDIR on read; root ignores chmod).
    rmSync(aliasFile);
    mkdirSync(aliasFile);
    await until('the poll to fail', async () => (await ready(url)).status === 'degraded');
    await traffic(url, 'unreadable', 20);
    const r1 = await ready(url);
    expect(r1.model?.version).toBe('v0001');
    expect(r1.faults[0]?.component).toBe('registry');
    expect(r1.faults[0]?.error).toMatch(/EISDIR/);
    expect(await metric(url, 'skiff_fault{component="registry"}')).toBe(1);

    // Corrupt: half a JSON document.
    rmSync(aliasFile, { recursive: true });
    writeFileSync(aliasFile, good.slice(0, 10));
    await until(
      'the corrupt file to be seen',
      async () => (await ready(url)).faults[0]?.error.includes('JSON') ?? false,
    );
    await traffic(url, 'corrupt', 20);
    const failures = await metric(url, 'skiff_registry_poll_failures');
    expect(failures).toBeGreaterThan(2);

    // Recovery: the file is back, and a promotion made afterwards is followed.
    writeFileSync(aliasFile, good);
    await until('recovery', async () => (await ready(url)).status === 'ready');
    expect(await metric(url, 'skiff_fault{component="registry"}')).toBe(0);
    const v2 = await register(reg, path.join(dir, 'a2'), ['z', 'y']);
    await reg.setAlias('production', v2);
    await until('the promotion', async () => (await ready(url)).model?.version === v2);
    await traffic(url, 'after', 5);
    expect(rejections).toEqual([]);
  });

  it('keeps serving through a registry server outage (connection refused) and follows it again after', async () => {
    // A remote registry (MLflow) that goes away: its calls fail with a real ECONNREFUSED.
    let down = false;
    const remote: ModelRegistry = {
      ...reg,
      aliases: async () => {
        if (down) await fetch('http://127.0.0.1:1/api/2.0/mlflow/registered-models/alias');
        return reg.aliases();
      },
    };
    server = await startFixedServer(remote, dir);
    const url = server.url;
    down = true;
    await until('the outage to be reported', async () => (await ready(url)).status === 'degraded');
    await traffic(url, 'outage', 20);
    expect((await ready(url)).faults[0]).toMatchObject({
      component: 'registry',
      error: expect.stringMatching(/fetch failed/),
    });
    down = false;
    await until('recovery', async () => (await ready(url)).status === 'ready');
    expect(rejections).toEqual([]);
  });

  it('answers every request while the log folder is gone, reports it, and writes the queued records when it is back', async () => {
    const logDir = path.join(dir, 'log');
    server = await startFixedServer(reg, dir, {
      servingLogDir: logDir,
      eventsDir: path.join(dir, 'online'),
      pollMs: 50,
      servingLog: { retryMs: 20, flushMs: 10 },
    });
    const url = server.url;
    const before = await traffic(url, 'before', 10);
    await until('the first records on disk', async () => (await loggedSessions(logDir)).size === before.length);

    // The folder removed, and a file in its place so that it cannot simply be created again.
    rmSync(logDir, { recursive: true });
    writeFileSync(logDir, 'not a folder');
    const during = await traffic(url, 'during', 30);
    await until('the fault to be reported', async () =>
      (await ready(url)).faults.some((f) => f.component === 'serving_log'),
    );
    const r = await ready(url);
    expect(r.status).toBe('degraded');
    expect(r.faults.find((f) => f.component === 'serving_log')?.error).toMatch(/EEXIST|ENOTDIR/);
    expect(await metric(url, 'skiff_fault{component="serving_log"}')).toBe(1);
    expect(await metric(url, 'skiff_log_write_errors{log="serving"}')).toBeGreaterThan(0);

    rmSync(logDir);
    const after = await traffic(url, 'after', 10);
    await until('recovery', async () => (await ready(url)).status === 'ready');
    await until(
      'the queued records on disk',
      async () => (await loggedSessions(logDir)).size === during.length + after.length,
    );
    const logged = await loggedSessions(logDir);
    // Nothing was lost: the records answered during the fault waited in the (bounded) queue.
    expect([...during, ...after].filter((id) => !logged.has(id))).toEqual([]);
    expect(await metric(url, 'skiff_log_records_dropped{log="serving"}')).toBe(0);
    expect(rejections).toEqual([]);
  });

  it('answers every request on a full file system, counts the records it could not write, and recovers when space is freed', async (ctx) => {
    const mnt = path.join(dir, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip(true, 'mounting a small tmpfs is not permitted here (needs root): full-disk test skipped');
    }
    try {
      const logDir = path.join(mnt, 'serving');
      // Fill the file system, leaving a little room.
      const filler = path.join(mnt, 'filler');
      await writeFile(filler, Buffer.alloc(200 * 1024));
      server = await startFixedServer(reg, dir, {
        servingLogDir: logDir,
        eventsDir: path.join(mnt, 'online'),
        pollMs: 50,
        servingLog: { retryMs: 20, flushMs: 5, maxQueued: 50 },
      });
      const url = server.url;
      const big = Array.from({ length: 100 }, (_, i) => `item-${i}-${'x'.repeat(60)}`);
      let sent = 0;
      // Keep sending (each record ~8 KB of items) until the disk is full and the fault shows.
      while (!(await ready(url)).faults.some((f) => f.component === 'serving_log')) {
        await traffic(url, `fill${sent}`, 10, big);
        sent += 10;
        expect(sent).toBeLessThan(2000);
      }
      const r = await ready(url);
      expect(r.status).toBe('degraded');
      expect(r.faults.find((f) => f.component === 'serving_log')?.error).toMatch(/ENOSPC/);
      await traffic(url, 'full', 100, big);
      await until(
        'records counted as dropped',
        async () => (await metric(url, 'skiff_log_records_dropped{log="serving"}')) > 0,
      );

      rmSync(filler);
      const after = await traffic(url, 'after', 10);
      await until('recovery', async () => (await ready(url)).status === 'ready');
      await until('the new records on disk', async () => {
        const logged = await loggedSessions(logDir);
        return after.every((id) => logged.has(id));
      });
      expect(rejections).toEqual([]);
    } finally {
      await server?.close();
      server = null;
      execFileSync('umount', [mnt]);
    }
  });
});
