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
