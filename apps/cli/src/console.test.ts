import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { parse } from '@prantlf/jsonlint';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/orchestrator-temporal';
import { CLI_MAIN } from './test-helpers/cli.js';

const run = promisify(execFile);

/** What a terminal shows: escape sequences (colours, the progress bar's redraws) removed, one entry per line. */
function screenLines(raw: string): string[] {
  return stripVTControlCharacters(raw)
    .split(/\r\n|\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * The demo run as a person runs it, at a terminal: `script` gives the CLI a pseudo-terminal, so
 * stdout and stderr are TTYs, as in a shell. The screen must show the stage lines and no JSON; the
 * JSON logs go to the file the CLI names, where every line must parse with no key twice.
 */
describe('the demo at a terminal', () => {
  let dataDir = '';
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('prints stages and no JSON; every line of its log file is strict JSON with no repeated key', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-console-'));
    // The end-to-end demo's data (seed 3). (With no clear winner the demo serves the run's best
    // model and says so: demo-no-winner.test.ts.)
    const cmd = [
      process.execPath,
      CLI_MAIN,
      'demo',
      '--once',
      '--sessions',
      '5000',
      '--items',
      '800',
      '--days',
      '5',
      '--seed',
      '3',
      '--epochs',
      '2',
      '--traffic-sessions',
      '40',
      '--data-dir',
      dataDir,
    ].join(' ');
    const env = {
      ...process.env,
      SKIFF_TEMPORAL_PORT: String(await freePort()),
      SKIFF_TEMPORAL_UI_PORT: String(await freePort()),
      SKIFF_LOG_FORMAT: 'auto',
      SKIFF_LOG_LEVEL: 'info',
    };
    const { stdout } = await run('script', ['-qec', cmd, '/dev/null'], {
      env,
      maxBuffer: 64 << 20,
      timeout: 900_000,
    }).catch((e: { stdout?: string; code?: number }) => {
      throw new Error(
        `the demo at a terminal failed (exit ${e.code}):\n${screenLines(e.stdout ?? '')
          .slice(-40)
          .join('\n')}`,
      );
    });
    const screen = screenLines(stdout);
    expect(
      screen.filter((l) => l.startsWith('{')),
      'JSON lines on screen',
    ).toEqual([]);
    expect(screen.some((l) => l.startsWith('[6/6]'))).toBe(true);
    expect(screen.some((l) => l.startsWith('training backend:'))).toBe(true);

    const logLines = screen.filter((l) => l.startsWith('logs: '));
    expect(logLines).toHaveLength(1);
    const files = await readdir(path.join(dataDir, 'logs'));
    expect(files.length).toBeGreaterThan(0);
    let lines = 0;
    for (const f of files) {
      for (const line of (await readFile(path.join(dataDir, 'logs', f), 'utf8')).split('\n').filter(Boolean)) {
        lines++;
        expect(() => parse(line, { allowDuplicateObjectKeys: false }), `${f}: ${line}`).not.toThrow();
      }
    }
    // info level: the pipeline's stages logged (ingest, training, the worker) went to the file.
    expect(lines).toBeGreaterThan(10);
  });
});
