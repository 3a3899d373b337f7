import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '@skiff/core';
import { findTemporalCli } from './cli-provision.js';
import { freePort, isTemporalUp, startDevServer } from './dev-server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// A stand-in for the CLI that fails the way the real one does when another dev server took one
// of its internal ports first, a given number of times, and then runs the real CLI.
async function flakyCli(dir: string, realCli: string, failures: number, message: string): Promise<string> {
  const script = path.join(dir, 'temporal');
  const counter = path.join(dir, 'starts');
  await writeFile(counter, '0');
  await writeFile(
    script,
    [
      '#!/bin/sh',
      `n=$(cat '${counter}'); n=$((n + 1)); echo "$n" > '${counter}'`,
      `if [ "$n" -le ${failures} ]; then`,
      `  echo 'time=2026-01-01T00:00:00.000 level=ERROR msg="Failed to start gRPC listener" error="${message}" service=worker'`,
      "  echo 'panic: runtime error: invalid memory address or nil pointer dereference'",
      '  exit 2',
      'fi',
      `exec '${realCli}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(script, 0o755);
  return script;
}

describe('startDevServer', () => {
  let dir: string;
  let realCli: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-devserver-'));
    const cli = await findTemporalCli({ cacheDir: path.join(repoRoot, '.cache'), searchPath: '', allowInstall: true });
    if (cli.kind !== 'binary') throw new Error('these tests need the Temporal CLI binary');
    realCli = cli.path;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts again when the CLI lost a race for one of its internal ports, and reports the retry', async () => {
    const stateDir = path.join(dir, 'race');
    const cliPath = await flakyCli(
      await mkdtemp(path.join(dir, 'cli-')),
      realCli,
      2,
      'listen tcp 127.0.0.1:40613: bind: address already in use',
    );
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg), child: () => logger };
    const server = await startDevServer({
      cli: { kind: 'binary', path: cliPath, source: 'test' },
      stateDir,
      port: await freePort(),
      uiPort: await freePort(),
      logger,
    });
    try {
      expect(server.started).toBe(true);
      expect(await isTemporalUp(server.address)).toBe(true);
      expect(warnings).toHaveLength(2);
      expect(await readFile(path.join(path.dirname(cliPath), 'starts'), 'utf8')).toBe('3\n');
    } finally {
      await server.stop();
    }
  });

  it('does not retry when the taken port is one the caller chose (a new start would fail the same way)', async () => {
    const uiPort = await freePort();
    const cliPath = await flakyCli(
      await mkdtemp(path.join(dir, 'cli-')),
      realCli,
      1,
      `listen tcp 127.0.0.1:${uiPort}: bind: address already in use`,
    );
    const err = await startDevServer({
      cli: { kind: 'binary', path: cliPath, source: 'test' },
      stateDir: path.join(dir, 'own-port'),
      port: await freePort(),
      uiPort,
    }).catch((e: unknown) => e);
    expect(String(err)).toMatch(new RegExp(`exited with code 2 \\(listen tcp 127.0.0.1:${uiPort}: bind`));
    expect(await readFile(path.join(path.dirname(cliPath), 'starts'), 'utf8')).toBe('1\n');
  });

  it('reports any other early exit at once, with the cause from the server log', async () => {
    const cliPath = await flakyCli(await mkdtemp(path.join(dir, 'cli-')), realCli, 1, 'database is locked');
    const err = await startDevServer({
      cli: { kind: 'binary', path: cliPath, source: 'test' },
      stateDir: path.join(dir, 'other'),
      port: await freePort(),
      uiPort: await freePort(),
    }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/exited with code 2 \(database is locked\); see .*server\.log/);
    expect(await readFile(path.join(path.dirname(cliPath), 'starts'), 'utf8')).toBe('1\n');
  });
});
