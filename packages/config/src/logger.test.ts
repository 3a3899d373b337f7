import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from '@prantlf/jsonlint';
import { describe, expect, it } from 'vitest';
import { chooseLogSink, createLogger, formatConsoleLine, lazyLogFile } from './logger.js';

/** Collects written lines. */
function sink() {
  const lines: string[] = [];
  return { lines, write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) };
}

/** JSON.parse keeps the last of two equal keys silently; this parser refuses them. */
const strictParse = (line: string) => parse(line, { allowDuplicateObjectKeys: false }) as Record<string, unknown>;

describe('createLogger', () => {
  it('writes one key once: a child field replaces its parent binding, pino`s own keys are not repeated', () => {
    const out = sink();
    const root = createLogger({ level: 'debug', base: { app: 'skiff' }, destination: out });
    const train = root.child({ stage: 'train', app: 'worker' });
    train.info('epoch done', { stage: 'validate', level: 'custom', msg: 'x', time: 1 });
    root.child({ component: 'temporal-sdk' }).warn('slow', { app: 'serve', hostname: 'h' });
    expect(out.lines).toHaveLength(2);
    for (const line of out.lines) expect(() => strictParse(line), line).not.toThrow();
    const first = strictParse(out.lines[0]!);
    expect(first).toMatchObject({
      app: 'worker',
      stage: 'validate',
      msg: 'epoch done',
      level: 30,
      level_: 'custom',
      msg_: 'x',
      time_: 1,
    });
    expect(strictParse(out.lines[1]!)).toMatchObject({
      app: 'serve',
      component: 'temporal-sdk',
      hostname_: 'h',
      level: 40,
    });
  });

  it('the strict parser used above does refuse a repeated key', () => {
    expect(() => strictParse('{"stage":"train","stage":"validate"}')).toThrow();
  });

  it('with a console, JSON goes to the destination at the level and warnings also to the console as plain lines', () => {
    const file = sink();
    const screen = sink();
    const log = createLogger({ level: 'info', base: { app: 'skiff' }, destination: file, console: screen });
    log.debug('hidden');
    log.info('loaded', { rows: 3 });
    log.warn('retrying', { attempt: 2, stage: 'ingest' });
    log.error('failed', { code: 'X' });
    expect(file.lines.map((l) => strictParse(l)['msg'])).toEqual(['loaded', 'retrying', 'failed']);
    expect(screen.lines).toEqual(['warning: retrying (attempt=2, stage=ingest)', 'error: failed (code=X)']);
  });

  it('with a console and level error, warnings are shown neither in the file nor on screen', () => {
    const file = sink();
    const screen = sink();
    const log = createLogger({ level: 'error', destination: file, console: screen });
    log.warn('w');
    log.error('e');
    expect(file.lines.map((l) => strictParse(l)['msg'])).toEqual(['e']);
    expect(screen.lines).toEqual(['error: e']);
  });
});

describe('where logs go', () => {
  it('auto: a file at a terminal, stderr otherwise; json: always stderr', () => {
    expect(chooseLogSink('auto', true)).toBe('file');
    expect(chooseLogSink('auto', false)).toBe('stderr');
    expect(chooseLogSink('json', true)).toBe('stderr');
  });

  it('the log file is created on the first line only, and its path is reported once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-logs-'));
    try {
      const opened: string[] = [];
      const file = lazyLogFile(
        path.join(dir, 'logs'),
        'skiff',
        (f) => opened.push(f),
        new Date('2026-01-02T03:04:05.678Z'),
      );
      expect(file.path).toBe(path.join(dir, 'logs', `skiff-20260102T030405Z-${process.pid}.ndjson`));
      await expect(readdir(dir)).resolves.toEqual([]);
      const log = createLogger({ destination: file });
      log.info('a');
      log.info('b');
      expect(opened).toEqual([file.path]);
      const lines = (await readFile(file.path, 'utf8')).trim().split('\n');
      expect(lines.map((l) => strictParse(l)['msg'])).toEqual(['a', 'b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a console line that is not JSON is shown as it is', () => {
    expect(formatConsoleLine('plain text\n')).toBe('plain text');
  });
});
