import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SkiffError } from '@skiff/core';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('takes flags over env over defaults and resolves the data dir', () => {
    const c = loadConfig({ SKIFF_DATA_DIR: '/tmp/a', SKIFF_SERVE_PORT: '9000' }, { dataDir: '/tmp/b' });
    expect(c.dataDir).toBe(path.resolve('/tmp/b'));
    expect(c.servePort).toBe(9000);
    expect(c.temporalAddress).toBeUndefined();
    expect(c.serveTfThreads).toBe(1);
    expect(loadConfig({ SKIFF_SERVE_TF_THREADS: '0' }).serveTfThreads).toBe(0);
  });

  it('lists every invalid value in one CONFIG_INVALID error', () => {
    let err: unknown;
    try {
      loadConfig({ SKIFF_SERVE_PORT: 'abc', SKIFF_LOG_LEVEL: 'loud', SKIFF_SERVE_TF_THREADS: '-1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('CONFIG_INVALID');
    expect((err as SkiffError).message).toMatch(/servePort/);
    expect((err as SkiffError).message).toMatch(/logLevel/);
    expect((err as SkiffError).message).toMatch(/serveTfThreads/);
  });
});

describe('security settings', () => {
  it('parses the serving security settings, with safe defaults', () => {
    const d = loadConfig({});
    expect(d.metricsToken).toBeUndefined();
    expect(d.dashboardHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(d.rateLimitPerMinute).toBe(60_000);
    expect(d.ingestOnlineEvents).toBe(false);
    expect(d.maxClockSkewSeconds).toBe(300);
    const c = loadConfig({
      SKIFF_METRICS_TOKEN: 't'.repeat(16),
      SKIFF_METRICS_PORT: '9100',
      SKIFF_DASHBOARD_HOSTS: 'Shop.example, localhost',
      SKIFF_REQUEST_ID_SECRET: 's'.repeat(32),
      SKIFF_INGEST_ONLINE_EVENTS: 'true',
    });
    expect(c.metricsPort).toBe(9100);
    expect(c.dashboardHosts).toEqual(['shop.example', 'localhost']);
    expect(c.ingestOnlineEvents).toBe(true);
    expect(() => loadConfig({ SKIFF_METRICS_TOKEN: 'short', SKIFF_REQUEST_ID_SECRET: 'short' })).toThrow(/metricsToken.*requestIdSecret|requestIdSecret.*metricsToken/);
  });
});
