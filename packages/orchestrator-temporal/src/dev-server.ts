import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SkiffError, silentLogger, type Logger } from '@skiff/core';
import type { TemporalCli } from './cli-provision.js';

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** True when this process started the server (and so must stop it). */
  started: boolean;
  stop(): Promise<void>;
}

export interface StartDevServerOptions {
  cli: TemporalCli;
  /** Folder for the persistent SQLite db and the server log. */
  stateDir: string;
  host?: string;
  port: number;
  uiPort: number;
  namespace?: string;
  logger?: Logger;
  /** How long to wait for the server to answer (the SDK's built-in 5 s is too short on a busy 2-core box). */
  startTimeoutMs?: number;
}

/** Resolves a free TCP port on 127.0.0.1 (used by tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a Temporal frontend answers at the address. */
export async function isTemporalUp(address: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await conn.healthService.check({});
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

async function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts `temporal server start-dev` with a persistent db file under `stateDir`, or reuses a dev
 * server that already answers at host:port (e.g. one left running by an earlier `skiff demo`).
 */
export async function startDevServer(options: StartDevServerOptions): Promise<DevServer> {
  const {
    cli,
    stateDir,
    host = '127.0.0.1',
    port,
    uiPort,
    namespace = 'default',
    logger = silentLogger,
    startTimeoutMs = 60_000,
  } = options;
  const address = `${host}:${port}`;
  if (await isTemporalUp(address)) {
    logger.info('reusing the Temporal server already running', { address });
    return { address, uiUrl: `http://${host}:${uiPort}`, started: false, stop: async () => {} };
  }
  if (await portInUse(host, port))
    throw new SkiffError(
      'DEPENDENCY_MISSING',
      `port ${port} on ${host} is taken by something that is not a Temporal server; set SKIFF_TEMPORAL_PORT or TEMPORAL_ADDRESS`,
    );
  if (cli.kind === 'sdk-download') return startWithSdkDownload(options);
  await mkdir(stateDir, { recursive: true });
  const logPath = path.join(stateDir, 'server.log');
  // The CLI picks free ports for its internal services (history, matching, worker) by binding
  // port 0 and closing it, then binds them again later: two dev servers starting at the same
  // moment can pick the same port, and the loser exits with "address already in use". Starting
  // again picks new ports, so that one failure is retried (bounded); any other exit is reported.
  for (let attempt = 1; ; attempt++) {
    const started = await spawnDevServer({
      cliPath: cli.path,
      logPath,
      host,
      port,
      uiPort,
      stateDir,
      namespace,
      startTimeoutMs,
    });
    if (started.ok) {
      logger.info('Temporal dev server started', {
        address,
        ui: started.server.uiUrl,
        db: path.join(stateDir, 'temporal.db'),
        cli: cli.path,
      });
      return started.server;
    }
    const firstError = await firstErrorLine(logPath, started.logOffset);
    if (attempt < START_ATTEMPTS && lostInternalPortRace(firstError, [port, uiPort])) {
      logger.warn('Temporal dev server lost a port race while starting; starting it again', {
        attempt,
        error: firstError,
      });
      continue;
    }
    throw new SkiffError(
      'DEPENDENCY_MISSING',
      `temporal server start-dev exited with code ${started.exitCode}${firstError ? ` (${firstError})` : ''}; see ${logPath}`,
    );
  }
}

/**
 * True when the error is a bind failure on a port other than the ones the caller chose: those are
 * the CLI's own picks, which a new start picks again. A taken frontend or UI port would fail the
 * same way every time, so it is reported at once.
 */
function lostInternalPortRace(error: string | null, ownPorts: number[]): boolean {
  const taken = /:(\d+): bind: address already in use/i.exec(error ?? '');
  return taken !== null && !ownPorts.includes(Number(taken[1]));
}

/** Starts after a lost internal port race are retried this many times in all. */
const START_ATTEMPTS = 4;

type SpawnResult = { ok: true; server: DevServer } | { ok: false; exitCode: number; logOffset: number };

async function spawnDevServer(options: {
  cliPath: string;
  logPath: string;
  host: string;
  port: number;
  uiPort: number;
  stateDir: string;
  namespace: string;
  startTimeoutMs: number;
}): Promise<SpawnResult> {
  const { cliPath, logPath, host, port, uiPort, stateDir, namespace, startTimeoutMs } = options;
  const address = `${host}:${port}`;
  const logFile = await open(logPath, 'a');
  const logOffset = (await logFile.stat()).size;
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    path.join(stateDir, 'temporal.db'),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  const child: ChildProcess = spawn(cliPath, args, { stdio: ['ignore', logFile.fd, logFile.fd], detached: false });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + startTimeoutMs;
  while (!(await isTemporalUp(address, 1_000))) {
    if (exited !== null) {
      await logFile.close();
      return { ok: false, exitCode: exited, logOffset };
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await logFile.close();
      throw new SkiffError(
        'DEPENDENCY_MISSING',
        `Temporal dev server did not answer at ${address} within ${startTimeoutMs} ms; see ${logPath}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    ok: true,
    server: {
      address,
      uiUrl: `http://${host}:${uiPort}`,
      started: true,
      async stop() {
        if (exited === null) {
          const done = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await done;
          clearTimeout(timer);
        }
        await logFile.close();
      },
    },
  };
}

/**
 * The first line at level ERROR (else a Go panic or CLI error) that this start wrote to the server
 * log: the cause, where later lines are often a crash that follows from it.
 */
async function firstErrorLine(logPath: string, fromOffset: number): Promise<string | null> {
  const bytes = await readFile(logPath).catch(() => Buffer.alloc(0));
  const text = bytes.subarray(fromOffset).toString('utf8');
  const lines = text.split('\n');
  const line = lines.find((l) => l.includes('level=ERROR')) ?? lines.find((l) => /^(panic|Error):/.test(l));
  if (!line) return null;
  const error = /error="([^"]*)"/.exec(line)?.[1];
  return (error ?? line).slice(0, 300);
}

async function startWithSdkDownload(options: StartDevServerOptions): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.stateDir, { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: host,
      port: options.port,
      ui: true,
      uiPort: options.uiPort,
      dbFilename: path.join(options.stateDir, 'temporal.db'),
    },
  });
  return {
    address: `${host}:${options.port}`,
    uiUrl: `http://${host}:${options.uiPort}`,
    started: true,
    stop: () => env.teardown(),
  };
}
