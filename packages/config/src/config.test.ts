import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SkiffError } from '@skiff/core';
import { loadConfig, pipelineSettings } from './config.js';

describe('loadConfig', () => {
  it('takes flags over env over defaults and resolves the data dir', () => {
    const c = loadConfig({ SKIFF_DATA_DIR: '/tmp/a', SKIFF_SERVE_PORT: '9000' }, { dataDir: '/tmp/b' });
    expect(c.dataDir).toBe(path.resolve('/tmp/b'));
    expect(c.servePort).toBe(9000);
    expect(c.temporalAddress).toBeUndefined();
    expect(c.serveTfThreads).toBe(1);
    expect(loadConfig({ SKIFF_SERVE_TF_THREADS: '0' }).serveTfThreads).toBe(0);
    expect(c.serveBatchSettleMs).toBe(0);
    expect(loadConfig({ SKIFF_SERVE_BATCH_SETTLE_MS: '1.5' }).serveBatchSettleMs).toBe(1.5);
  });

  it('finds the provisioned cache at the checkout root from any working directory; a relative override follows the cwd', () => {
    const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    expect(loadConfig({}).cacheDir).toBe(path.join(repoRoot, '.cache'));
    expect(loadConfig({ SKIFF_CACHE_DIR: 'elsewhere' }).cacheDir).toBe(path.resolve('elsewhere'));
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

  it("reads the monitor's dataset drift share (default 0.1: any drifted column of six), in (0, 1]", () => {
    expect(loadConfig({}).driftShare).toBe(0.1);
    expect(loadConfig({ SKIFF_DRIFT_SHARE: '0.5' }).driftShare).toBe(0.5);
    for (const bad of ['0', '1.5', 'half']) expect(() => loadConfig({ SKIFF_DRIFT_SHARE: bad })).toThrow(/driftShare/);
  });
});

describe('pipelineSettings', () => {
  it("defaults to session-rec's last-day split, the minimum sizes and the candidate gate against pop, sr and vsknn", () => {
    expect(pipelineSettings(loadConfig({}))).toEqual({
      split: { rule: 'last-days', testDays: 1 },
      splitChecks: { minSessions: 50, minPredictions: 200 },
      gate: {
        policy: 'candidate',
        baselines: ['pop', 'sr', 'vsknn'],
        confidence: 0.95,
        resamples: 1000,
        seed: 7,
        noWinner: 'keep',
      },
      promotionMetric: 'hr@20',
    });
  });

  it('reads every rule, the checks and the gate from the environment, and refuses an incomplete rule', () => {
    const s = pipelineSettings(
      loadConfig({
        SKIFF_SPLIT_RULE: 'dates',
        SKIFF_SPLIT_VALIDATION_START: '2014-04-06T00:00:00Z',
        SKIFF_SPLIT_TEST_START: '2014-04-07T00:00:00Z',
        SKIFF_SPLIT_MIN_SESSIONS: '10',
        SKIFF_PROMOTION_POLICY: 'promote-best',
        SKIFF_PROMOTION_BASELINES: 'sr, vsknn',
        SKIFF_PROMOTION_METRIC: 'mrr@20',
        SKIFF_PROMOTION_NO_WINNER: 'serve-best',
      }),
    );
    expect(s).toMatchObject({
      split: { rule: 'dates', testStart: '2014-04-07T00:00:00Z' },
      splitChecks: { minSessions: 10 },
      gate: { policy: 'promote-best', baselines: ['sr', 'vsknn'], noWinner: 'serve-best' },
      promotionMetric: 'mrr@20',
    });
    expect(
      pipelineSettings(loadConfig({ SKIFF_SPLIT_RULE: 'fraction', SKIFF_SPLIT_TEST_FRACTION: '0.2' })).split,
    ).toEqual({ rule: 'fraction', testFraction: 0.2, validationFraction: 0.1 });
    expect(
      pipelineSettings(loadConfig({ SKIFF_SPLIT_TEST_DAYS: '2', SKIFF_SPLIT_VALIDATION_DAYS: '7' })).split,
    ).toEqual({ rule: 'last-days', testDays: 2, validationDays: 7 });
    expect(() =>
      pipelineSettings(loadConfig({ SKIFF_SPLIT_RULE: 'dates', SKIFF_SPLIT_TEST_START: '2014-04-07T00:00:00Z' })),
    ).toThrow(/CONFIG_INVALID|invalid split \(SKIFF_SPLIT_\*\): validationStart/);
    expect(() => loadConfig({ SKIFF_PROMOTION_METRIC: 'coverage@20' })).toThrow(SkiffError);
    expect(() => loadConfig({ SKIFF_PROMOTION_BASELINES: 'pop,gru4rec' })).toThrow(SkiffError);
    expect(() => loadConfig({ SKIFF_PROMOTION_NO_WINNER: 'promote-anyway' })).toThrow(SkiffError);
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
    expect(d.servingLogRetainBytes).toBe(10 * 2 ** 30);
    expect(d.servingLogRetainDays).toBe(30);
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
    expect(() => loadConfig({ SKIFF_METRICS_TOKEN: 'short', SKIFF_REQUEST_ID_SECRET: 'short' })).toThrow(
      /metricsToken.*requestIdSecret|requestIdSecret.*metricsToken/,
    );
  });
});
