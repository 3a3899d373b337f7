// Serving latency and throughput: the real `skiff serve` in its own process, loaded by autocannon
// from this process at 1, 16 and 64 connections, next to a bare Express endpoint (the ceiling), for
//   - a 50k-item GRU4Rec model (random sessions of 1–6 catalogue items), and
//   - V-SKNN trained on the YooChoose rsc15-100k sample's train_full (requests = test-session
//     prefixes), when the sample is found (data/README.md, Public data), and
//   - the hybrid of apps/cli/configs/yoochoose-best.json (its chosen recipe) on the same data.
// The serving path is the deployed one: helmet's headers, a signed request id per answer, the
// serving log, and the per-address rate limiter. All requests come from one address, so the
// default limit (60,000 a minute = 1,000 req/s) would turn most of the load into 429s and measure
// the limiter's refusals instead of serving; the bench therefore sets SKIFF_RATE_LIMIT_PER_MINUTE
// to 1e9 by default (--rate-limit): the limiter runs and counts every request, it never refuses.
// --rate-limit 0 takes it out of the path (the middleware is not mounted), to see what it costs.
// One JSON line per figure, with the 1-minute load average when it was taken (the figures are only
// comparable on an otherwise idle machine: autocannon, the ceiling and the server share its cores);
// with rounds > 1, the ceiling and the server alternate and a summary line per target gives medians.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createFsRegistry } from '../../packages/registry/dist/index.js';
import { readSessionTable, trainBaseline, trainCounted, trainGru4Rec } from '../../packages/model/dist/index.js';
import { mulberry32 as rng } from '../../packages/core/dist/index.js';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '../../packages/testing/dist/public-data.js';

const USAGE = `Usage: node bench/serve/run.mjs [--seconds 8] [--models gru4rec,vsknn] [--rounds 1] [--rate-limit 1000000000]
  --seconds     autocannon duration of each figure
  --models      gru4rec (50k items, generated), vsknn and/or hybrid (YooChoose sample; skipped when not found)
  --rounds      > 1: ceiling and server alternate, and a median line closes each model
  --rate-limit  SKIFF_RATE_LIMIT_PER_MINUTE of the served process (default 1e9: the limiter runs but
                never refuses; 0: not mounted). The load comes from one address.
Positional [seconds] [models] [rounds] are accepted too.`;
const { values: opts, positionals } = parseArgs({
  options: {
    seconds: { type: 'string' },
    models: { type: 'string' },
    rounds: { type: 'string' },
    'rate-limit': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: true,
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seconds = Number(opts.seconds ?? positionals[0] ?? 8);
const models = (opts.models ?? positionals[1] ?? 'gru4rec,vsknn').split(',');
const rounds = Number(opts.rounds ?? positionals[2] ?? 1);
const rateLimit = Number(opts['rate-limit'] ?? 1_000_000_000);
for (const [name, v] of [
  ['seconds', seconds],
  ['rounds', rounds],
  ['rate-limit', rateLimit],
])
  if (!Number.isFinite(v) || v < 0) {
    console.error(`bad --${name}\n${USAGE}`);
    process.exit(2);
  }
const ITEMS = 50_000;
const yoochoose = findPublicData(
  YOOCHOOSE_SAMPLE,
  ['yoochoose-clicks-100k_train_full.txt', 'yoochoose-clicks-100k_test.txt'],
  process.env,
);
const YOOCHOOSE = yoochoose.dir;

async function startProcess(args, env = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) resolve(m[0]);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
  return { child, url };
}

async function load(url, connections, bodies) {
  let i = 0;
  const result = await autocannon({
    url: `${url}/v1/recommendations`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.non2xx,
    rateLimited: result.statusCodeStats?.['429']?.count ?? 0,
    load1: Number(os.loadavg()[0].toFixed(2)),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-serve-'));

/** Registers the artifact in `dataDir`'s registry as production (what `skiff serve` follows). */
async function publish(dataDir, art, name) {
  const registry = createFsRegistry({ root: path.join(dataDir, 'registry') });
  const v = await registry.register({
    name,
    sourceDir: art,
    metrics: {},
    params: {},
    lineage: { snapshotId: 'bench', loadIds: [], codeVersion: 'bench', backend: 'bench' },
  });
  await registry.setAlias('production', v.version);
}

/** A model over 50k items: one epoch over pairs that cover the whole catalogue (latency does not depend on how well it is trained). */
async function gru4rec() {
  const r = rng(7);
  const sessions = [];
  for (let i = 0; i < ITEMS; i++) sessions.push([`i${i}`, `i${Math.floor(r() * ITEMS)}`, `i${(i + 1) % ITEMS}`]);
  const trained = await trainGru4Rec({
    train: sessions,
    params: {
      model: 'gru4rec',
      embeddingDim: 64,
      hiddenUnits: 64,
      maxLen: 10,
      epochs: 1,
      batchSize: 256,
      learningRate: 0.005,
      seed: 1,
    },
  });
  const model = trained.model ?? trained;
  const art = path.join(dir, 'gru4rec-artifact');
  await model.save(art);
  const dataDir = path.join(dir, 'gru4rec-data');
  await publish(dataDir, art, 'gru4rec');
  const bodies = Array.from({ length: 1000 }, () => {
    const n = 1 + Math.floor(r() * 6);
    return JSON.stringify({ items: Array.from({ length: n }, () => `i${Math.floor(r() * ITEMS)}`), k: 20 });
  });
  return { name: `gru4rec-${ITEMS}-items`, dataDir, bodies };
}

/** session-rec's V-SKNN on the YooChoose sample; requests are every prefix of the test sessions. */
async function vsknn() {
  return yoochooseTarget('vsknn', (train) => trainBaseline('vsknn', train.sessions, { lastTimes: train.lastTimes }));
}

/** The recipe yoochoose-best's search chose (its `$meta.trial`), fitted on the YooChoose sample. */
async function hybrid() {
  const config = JSON.parse(readFileSync(path.join(root, 'apps/cli/configs/yoochoose-best.json'), 'utf8'));
  const chosen = config.candidates.find((c) => c.name === `trial-${config.$meta.trial}`) ?? config.candidates[0];
  return yoochooseTarget('hybrid', (train) =>
    trainCounted('hybrid', train.sessions, { lastTimes: train.lastTimes, hybrid: chosen.hybrid }),
  );
}

async function yoochooseTarget(kind, fit) {
  if (!YOOCHOOSE) return null;
  const train = await readSessionTable(path.join(YOOCHOOSE, 'yoochoose-clicks-100k_train_full.txt'));
  const test = await readSessionTable(path.join(YOOCHOOSE, 'yoochoose-clicks-100k_test.txt'));
  const model = fit(train);
  const art = path.join(dir, `${kind}-artifact`);
  await model.save(art);
  const dataDir = path.join(dir, `${kind}-data`);
  await publish(dataDir, art, kind);
  const bodies = test.sessions.flatMap((s) =>
    s.slice(1).map((_, i) => JSON.stringify({ items: s.slice(0, i + 1), k: 20 })),
  );
  return { name: `${kind}-yoochoose-${train.sessions.length}-sessions`, dataDir, bodies };
}

try {
  const hello = await startProcess([path.join(root, 'bench/serve/hello.mjs')]);
  try {
    for (const make of models.map((m) => ({ gru4rec, vsknn, hybrid })[m])) {
      if (!make) throw new Error(`unknown model in ${models.join(',')} (gru4rec, vsknn, hybrid)`);
      const target = await make();
      if (!target) {
        console.log(
          JSON.stringify({
            bench: 'serve',
            skipped: 'YooChoose models',
            reason: publicDataSkipReason(YOOCHOOSE_SAMPLE, yoochoose),
          }),
        );
        continue;
      }
      const skiff = await startProcess(
        [path.join(root, 'apps/cli/dist/main.js'), 'serve', '--port', '0', '--data-dir', target.dataDir],
        { SKIFF_LOG_LEVEL: 'warn', SKIFF_RATE_LIMIT_PER_MINUTE: String(rateLimit) },
      );
      try {
        const runs = { 1: [], 16: [], 64: [] };
        for (let round = 0; round < rounds; round++)
          for (const connections of [1, 16, 64]) {
            const ceiling = await load(hello.url, connections, target.bodies);
            const ours = await load(skiff.url, connections, target.bodies);
            runs[connections].push({ ceiling, ours });
            console.log(
              JSON.stringify({ bench: 'serve', target: 'express-hello', model: null, connections, round, ...ceiling }),
            );
            console.log(
              JSON.stringify({
                bench: 'serve',
                target: 'skiff',
                model: target.name,
                connections,
                round,
                rateLimitPerMinute: rateLimit,
                ...ours,
                throughputVsCeiling: Number((ours.rps / ceiling.rps).toFixed(3)),
              }),
            );
          }
        if (rounds > 1)
          for (const [connections, rs] of Object.entries(runs)) {
            const m = (side, key) => median(rs.map((r) => r[side][key]));
            const ratio = median(rs.map((r) => r.ours.rps / r.ceiling.rps));
            console.log(
              JSON.stringify({
                bench: 'serve',
                summary: 'median',
                model: target.name,
                connections: Number(connections),
                rounds,
                rateLimitPerMinute: rateLimit,
                p50: m('ours', 'p50'),
                p99: m('ours', 'p99'),
                rps: Math.round(m('ours', 'rps')),
                ceilingP99: m('ceiling', 'p99'),
                ceilingRps: Math.round(m('ceiling', 'rps')),
                throughputVsCeiling: Number(ratio.toFixed(3)),
              }),
            );
          }
      } finally {
        skiff.child.kill('SIGTERM');
      }
    }
  } finally {
    hello.child.kill('SIGTERM');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
