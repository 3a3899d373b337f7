// Scale-out of model selection on Temporal: one pipeline run with four candidates, first with one
// training worker process, then with two, on the same Temporal dev server (started here from the
// provisioned CLI). Each run gets a fresh data dir with the same simulated shop logs (seeded), so
// the runs differ only in the number of workers. Prints one JSON line per run (wall time of the
// whole run, and of the selection stage: first candidate scheduled → last candidate completed, from
// the workflow history) and a summary line with the ratio and the load average.
//
// Every worker here is a whole `skiff worker` process (all queues); with maxConcurrentActivities 1
// on the training queue, one process trains one candidate at a time, so two processes can train
// two at once. On one machine the gain is bounded by its cores: tfjs-node already uses several
// threads for one training, so two trainings on 2 cores share them rather than doubling throughput.
//
//   npx turbo run build
//   node bench/fanout/run.mjs [--workers 1,2] [--sessions 6000] [--items 1500] [--days 6] [--epochs 4] [--seed 1]
//        [--tf-threads N]   # TensorFlow intra-op threads per worker (TF_NUM_INTRAOP_THREADS; default: one per core),
//                           # e.g. 1 to let each worker stand for a one-core machine
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // The usage is this file's opening comment.
  const head = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    head
      .slice(
        0,
        head.findIndex((l) => !l.startsWith('//')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const importSkiff = (dir, file = 'index.js') => import(pathToFileURL(path.join(root, dir, 'dist', file)).href);
const temporal = await importSkiff('packages/orchestrator-temporal');
const { createCatalogue, writeRawLogs } = await importSkiff('packages/simulator');
const { parseTrainingConfig } = await importSkiff('packages/pipeline');
const cliMain = path.join(root, 'apps/cli/dist/main.js');

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const WORKERS = option('--workers', '1,2').split(',').map(Number);
const SESSIONS = Number(option('--sessions', '6000'));
const ITEMS = Number(option('--items', '1500'));
const DAYS = Number(option('--days', '6'));
const EPOCHS = Number(option('--epochs', '4'));
const SEED = Number(option('--seed', '1'));
const TF_THREADS = option('--tf-threads', undefined);

// Four candidates of the same cost order, so that the split over two workers is even.
const config = {
  model: 'gru4rec',
  embeddingDim: 32,
  maxLen: 10,
  batchSize: 128,
  epochs: EPOCHS,
  patience: 0,
  learningRate: 0.005,
  seed: 42,
  candidates: [
    { name: 'h48', hiddenUnits: 48 },
    { name: 'h64', hiddenUnits: 64 },
    { name: 'h64-lr', hiddenUnits: 64, learningRate: 0.01 },
    { name: 'h80', hiddenUnits: 80 },
  ],
};
const { train, candidates } = parseTrainingConfig(config, 'bench/fanout');
const queues = { data: 'skiff-data', training: 'skiff-training', monitoring: 'skiff-monitoring' };
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

const scratch = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-fanout-'));
const cli = await temporal.findTemporalCli({ cacheDir: path.join(root, '.cache'), searchPath: '', allowInstall: true });
const server = await temporal.startDevServer({
  cli,
  stateDir: path.join(scratch, 'temporal'),
  port: await temporal.freePort(),
  uiPort: await temporal.freePort(),
});
const sc = await temporal.connectClient(server.address);

/** A worker process; resolves once it polls. */
function startWorker(dataDir) {
  const child = spawn(process.execPath, [cliMain, 'worker', '--data-dir', dataDir], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      SKIFF_LOG_LEVEL: 'warn',
      ...(TF_THREADS ? { TF_NUM_INTRAOP_THREADS: TF_THREADS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('polling')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling`)));
  });
}

const ms = (t) => Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6);
const results = [];
try {
  for (const n of WORKERS) {
    const dataDir = path.join(scratch, `w${n}`);
    await writeRawLogs({
      dir: path.join(dataDir, 'raw'),
      catalogue: createCatalogue({ items: ITEMS, seed: SEED }),
      sessions: SESSIONS,
      seed: SEED,
      start: new Date(Date.UTC(2026, 0, 1)),
      days: DAYS,
    });
    await writeFile(path.join(dataDir, 'candidates.json'), JSON.stringify(config, null, 2));
    const workers = await Promise.all(Array.from({ length: n }, () => startWorker(dataDir)));
    const loadBefore = load();
    const workflowId = `bench-fanout-${n}w-${Date.now()}`;
    const t0 = performance.now();
    const { handle } = await temporal.startTraining(
      sc.client,
      { train, candidates, promotionMetric: 'hr@20', queues },
      { workflowId, taskQueue: 'skiff-pipeline' },
    );
    const r = await handle.result();
    const wallSeconds = (performance.now() - t0) / 1000;
    const loadAfter = load();
    const history = await handle.fetchHistory();
    const kind = new Map();
    const times = { scheduled: [], completed: [] };
    const identities = new Set();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) kind.set(String(e.eventId), s.activityType?.name);
      const st = e.activityTaskStartedEventAttributes;
      if (st && kind.get(String(st.scheduledEventId)) === 'trainCandidate') identities.add(st.identity);
      if (s?.activityType?.name === 'trainCandidate') times.scheduled.push(ms(e.eventTime));
      const c = e.activityTaskCompletedEventAttributes;
      if (c && kind.get(String(c.scheduledEventId)) === 'trainCandidate') times.completed.push(ms(e.eventTime));
    }
    const selectSeconds = (Math.max(...times.completed) - Math.min(...times.scheduled)) / 1000;
    const line = {
      bench: 'fanout',
      workers: n,
      tfThreads: TF_THREADS ? Number(TF_THREADS) : 'default',
      candidates: candidates.length,
      wallSeconds: Number(wallSeconds.toFixed(1)),
      selectSeconds: Number(selectSeconds.toFixed(1)),
      candidateSeconds: Object.fromEntries(
        r.candidates.candidates.map((c) => [c.name, Number(c.trainSeconds.toFixed(1))]),
      ),
      workersThatTrained: identities.size,
      chosen: r.candidates.chosen,
      scores: Object.fromEntries(r.candidates.candidates.map((c) => [c.name, Number(c.score.toFixed(4))])),
      testHr20: Number((r.metrics['hr@20'] ?? 0).toFixed(4)),
      trainSessions: r.split?.train?.sessions ?? null,
      loadBefore,
      loadAfter,
      cpus: os.cpus().length,
    };
    results.push(line);
    console.log(JSON.stringify(line));
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((res) => (w.exitCode !== null ? res() : w.once('exit', res)))));
  }
  const one = results.find((r) => r.workers === 1);
  const two = results.find((r) => r.workers === 2);
  if (one && two)
    console.log(
      JSON.stringify({
        bench: 'fanout-summary',
        wall1w: one.wallSeconds,
        wall2w: two.wallSeconds,
        // > 1: two workers were faster.
        wallRatio: Number((one.wallSeconds / two.wallSeconds).toFixed(2)),
        selectRatio: Number((one.selectSeconds / two.selectSeconds).toFixed(2)),
        sameChoice: one.chosen === two.chosen,
        load: load(),
      }),
    );
} finally {
  await sc.close();
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
}
