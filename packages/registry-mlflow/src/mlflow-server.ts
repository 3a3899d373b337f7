import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { SkiffError } from '@skiff/core';

export interface MlflowServer {
  /** Tracking URI, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Where artifacts land on disk (`--artifacts-destination`). */
  artifactsDir: string;
  /** Stops the server and its workers (process group). */
  stop(): Promise<void>;
}

/** The `mlflow` executable of a venv made by infra/mlflow/install.sh, or null. */
export function findMlflow(venvDir: string): string | null {
  const bin = path.join(venvDir, 'bin', 'mlflow');
  return existsSync(bin) ? bin : null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `mlflow server` on 127.0.0.1 with a sqlite backend store and a proxied artifact store
 * under `stateDir`, and waits until `/health` answers. Used by the contract test; also handy for
 * a local MLflow (docs/swapping.md).
 */
export async function startMlflowServer(options: {
  mlflowBin: string;
  stateDir: string;
  port?: number;
  timeoutMs?: number;
}): Promise<MlflowServer> {
  const { mlflowBin, stateDir, timeoutMs = 120_000 } = options;
  await mkdir(stateDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const artifactsDir = path.join(stateDir, 'artifacts');
  const args = [
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--backend-store-uri',
    `sqlite:///${path.resolve(stateDir, 'mlflow.db')}`,
    '--artifacts-destination',
    artifactsDir,
    '--workers',
    '1',
  ];
  const child: ChildProcess = spawn(mlflowBin, args, {
    cwd: stateDir,
    detached: true, // own process group: stop() also ends uvicorn/gunicorn workers
    stdio: ['ignore', 'pipe', 'pipe'],
    // The child inherits this process's environment (PATH, HOME…); nothing here is configuration.
    // eslint-disable-next-line no-restricted-properties
    env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', PYTHONUNBUFFERED: '1' },
  });
  let log = '';
  const keep = (b: Buffer) => (log = (log + b.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited !== undefined || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined)
      throw new SkiffError('DEPENDENCY_MISSING', `mlflow server exited (${exited}) before answering:\n${log}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return { url, artifactsDir, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new SkiffError('DEPENDENCY_MISSING', `mlflow server did not answer on ${url} within ${timeoutMs} ms:\n${log}`);
}
