import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  connectClient,
  findTemporalCli,
  freePort,
  startDevServer,
  type DevServer,
  type SkiffClient,
} from '@skiff/orchestrator-temporal';
import { createCatalogue, writeRawLogs } from '@skiff/simulator';
import { CLI_MAIN } from './cli.js';

const repoRoot = path.resolve(path.dirname(CLI_MAIN), '../../..');

/**
 * A real Temporal dev server, a data dir with simulated raw logs, and `skiff worker` processes
 * started on demand: what the tests that kill a worker mid-run share. `close()` kills the workers
 * that are left, stops the server and removes the data dir.
 */
export interface WorkerFleet {
  dataDir: string;
  server: DevServer;
  sc: SkiffClient;
  /** Starts one more `skiff worker` process on this data dir and server. */
  startWorker(): ChildProcess;
  close(): Promise<void>;
}

export async function startWorkerFleet(opts: {
  prefix: string;
  items: number;
  sessions: number;
  seed: number;
}): Promise<WorkerFleet> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), opts.prefix));
  await writeRawLogs({
    dir: path.join(dataDir, 'raw'),
    catalogue: createCatalogue({ items: opts.items, seed: opts.seed }),
    sessions: opts.sessions,
    seed: opts.seed,
    start: new Date(Date.UTC(2026, 0, 1)),
    days: 5,
  });
  const cli = await findTemporalCli({ cacheDir: path.join(repoRoot, '.cache'), searchPath: '', allowInstall: true });
  const server = await startDevServer({
    cli,
    stateDir: path.join(dataDir, 'temporal'),
    port: await freePort(),
    uiPort: await freePort(),
  });
  const sc = await connectClient(server.address);
  const workers: ChildProcess[] = [];
  return {
    dataDir,
    server,
    sc,
    startWorker() {
      const child = spawn(process.execPath, [CLI_MAIN, 'worker', '--data-dir', dataDir], {
        env: { ...process.env, TEMPORAL_ADDRESS: server.address, SKIFF_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      workers.push(child);
      return child;
    },
    async close() {
      for (const w of workers) w.kill('SIGKILL');
      await sc.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
