// Serving latency and throughput: the real `skiff serve` in its own process, loaded by autocannon
// from this process at 1, 16 and 64 connections, next to a bare Express endpoint (the ceiling), for
//   - a 50k-item GRU4Rec model (random sessions of 1–6 catalogue items),
//   - a 50k-item SASRec model (the same requests), and
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
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createFsRegistry } from '../../packages/registry/dist/index.js';
import {
  disposeModel,
  loadRecommender,
  readSessionTable,
  trainBaseline,
  trainCounted,
  trainGru4Rec,
} from '../../packages/model/dist/index.js';
import { mulberry32 as rng } from '../../packages/core/dist/index.js';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '../../packages/testing/dist/public-data.js';

const USAGE = `Usage: node bench/serve/run.mjs [--seconds 8] [--models pop,gru4rec,sasrec,vsknn] [--rounds 1] [--rate-limit 1000000000] [--batch-settle-ms 0] [--items 50000] [--cpu-prof DIR]
  --seconds     autocannon duration of each figure
  --models      pop (the app's bound: a free model over the same 50k items), gru4rec, sasrec (50k items,
                generated), vsknn and/or hybrid (YooChoose sample; skipped when not found). A goal line per
                neural model closes the run (with pop's figure as the bound when pop ran)
  --rounds      > 1: ceiling and server alternate, and a median line closes each model
  --rate-limit  SKIFF_RATE_LIMIT_PER_MINUTE of the served process (default 1e9: the limiter runs but
                never refuses; 0: not mounted). The load comes from one address.
  --batch-settle-ms  SKIFF_SERVE_BATCH_SETTLE_MS of the served process (0: a batch is one event-loop
                turn; > 0: it keeps collecting while requests keep arriving, up to this many ms)
  --items       catalogue size of the generated models (pop, gru4rec, sasrec)
  --cpu-prof    write a V8 CPU profile of each served process into DIR (node --cpu-prof; open in
                Chrome DevTools or speedscope)
Positional [seconds] [models] [rounds] are accepted too.`;
const { values: opts, positionals } = parseArgs({
  options: {
    seconds: { type: 'string' },
    models: { type: 'string' },
    rounds: { type: 'string' },
    'rate-limit': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'batch-settle-ms': { type: 'string' },
    items: { type: 'string' },
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
const models = (opts.models ?? positionals[1] ?? 'pop,gru4rec,sasrec,vsknn').split(',');
const rounds = Number(opts.rounds ?? positionals[2] ?? 1);
const rateLimit = Number(opts['rate-limit'] ?? 1_000_000_000);
const settleMs = Number(opts['batch-settle-ms'] ?? 0);
for (const [name, v] of [
  ['seconds', seconds],
  ['rounds', rounds],
  ['rate-limit', rateLimit],
  ['batch-settle-ms', settleMs],
])
  if (!Number.isFinite(v) || v < 0) {
    console.error(`bad --${name}\n${USAGE}`);
    process.exit(2);
  }
const ITEMS = Number(opts.items ?? 50_000);
if (!Number.isInteger(ITEMS) || ITEMS < 100) {
  console.error(`bad --items\n${USAGE}`);
  process.exit(2);
}
// The served process runs TensorFlow on one intra-op thread (skiff serve's default); the model-alone
// figures of this process must too (read when tfjs-node loads, at the first training).
process.env['TF_NUM_INTRAOP_THREADS'] ??= '1';
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();
/** The serving goals at 64 connections: a share of the ceiling's req/s, and a p99 bound (× the ceiling's). */
const GOALS = {
  gru4rec: { ratio: 0.5, p99VsCeiling: 2 },
  sasrec: { ratio: 0.3 },
};
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

/** CPU seconds (user + system) the process `pid` has used so far (Linux /proc; null elsewhere). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** skiff's micro-batching counters from /metrics (requests scored, model calls), or null. */
async function batchCounters(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const get = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const r = { requests: get('skiff_model_batched_requests_total'), calls: get('skiff_model_batches_total') };
    return Number.isFinite(r.requests) && Number.isFinite(r.calls) ? r : null;
  } catch {
    return null;
  }
}

async function load(target, connections, bodies) {
  const { url, child } = target;
  const cpu0 = cpuSeconds(child.pid);
  const b0 = await batchCounters(url);
  let i = 0;
  const result = await autocannon({
    url: `${url}/v1/recommendations`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  const cpu1 = cpuSeconds(child.pid);
  const b1 = b0 && (await batchCounters(url));
  const served = result.requests.total;
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    // CPU time of the serving process per answered request: less sensitive to other jobs than req/s.
    ...(cpu0 !== null && cpu1 !== null && served
      ? { cpuUsPerRequest: Math.round(((cpu1 - cpu0) * 1e6) / served) }
      : {}),
    ...(b1 && b1.calls > b0.calls
      ? { meanBatch: Number(((b1.requests - b0.requests) / (b1.calls - b0.calls)).toFixed(1)) }
      : {}),
    errors: result.errors + result.non2xx,
    rateLimited: result.statusCodeStats?.['429']?.count ?? 0,
    load1: Number(os.loadavg()[0].toFixed(2)),
  };
}

/**
 * The ceiling's CPU per request over ours: what share of the ceiling's requests/s this server would
 * answer where its own process is the bottleneck. Far steadier than the req/s ratio when other jobs
 * share the cores (both processes are slowed alike per request; their req/s are not).
 */
const cpuRatio = (ceiling, ours) =>
  ceiling.cpuUsPerRequest && ours.cpuUsPerRequest
    ? { cpuVsCeiling: Number((ceiling.cpuUsPerRequest / ours.cpuUsPerRequest).toFixed(3)) }
    : {};

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

/** The generated 50k-item catalogue: sessions that cover every item, and 1,000 request bodies of 1–6 random items. */
function catalogue() {
  const r = rng(7);
  const sessions = [];
  for (let i = 0; i < ITEMS; i++) sessions.push([`i${i}`, `i${Math.floor(r() * ITEMS)}`, `i${(i + 1) % ITEMS}`]);
  const bodies = Array.from({ length: 1000 }, () => {
    const n = 1 + Math.floor(r() * 6);
    return JSON.stringify({ items: Array.from({ length: n }, () => `i${Math.floor(r() * ITEMS)}`), k: 20 });
  });
  return { sessions, bodies };
}

/**
 * A neural model of `kind` over the 50k catalogue: one epoch (latency does not depend on how well
 * it is trained). GRU4Rec: 64 units; SASRec: width 64, two blocks of one head, feed-forward 64.
 */
async function neural(kind) {
  const { sessions, bodies } = catalogue();
  const trained = await trainGru4Rec({
    train: sessions,
    params: {
      model: kind,
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
  const art = path.join(dir, `${kind}-artifact`);
  await model.save(art);
  model.dispose();
  const dataDir = path.join(dir, `${kind}-data`);
  await publish(dataDir, art, kind);
  const alone = await modelAlone(kind, art, bodies);
  return { key: kind, name: `${kind}-${ITEMS}-items`, dataDir, bodies, alone };
}

/**
 * The model alone: CPU time per request of `recommendBatch` on the loaded artifact in this process,
 * in batches of 1, 16 and 64 of the bench's requests (what one model call costs the server, without
 * HTTP). One line per batch size; returns { [batch]: µs per request }.
 */
async function modelAlone(kind, art, bodies) {
  const model = await loadRecommender(art);
  const histories = bodies.map((b) => JSON.parse(b).items);
  const out = {};
  try {
    for (const batch of [1, 16, 64]) {
      const calls = Math.max(8, Math.round(256 / batch));
      const batchAt = (c) => Array.from({ length: batch }, (_, j) => histories[(c * batch + j) % histories.length]);
      for (let c = 0; c < 4; c++) model.recommendBatch(batchAt(c), 20);
      const t0 = process.cpuUsage();
      for (let c = 0; c < calls; c++) model.recommendBatch(batchAt(c), 20);
      const t = process.cpuUsage(t0);
      out[batch] = Math.round((t.user + t.system) / (calls * batch));
      console.log(
        JSON.stringify({
          bench: 'serve',
          target: 'model-alone',
          model: kind,
          batch,
          cpuUsPerRequest: out[batch],
          load1: Number(os.loadavg()[0].toFixed(2)),
        }),
      );
    }
  } finally {
    disposeModel(model);
  }
  return out;
}

/**
 * The bound of the serving path itself: the most-popular baseline over the same catalogue, asked
 * the same requests through the same hardened app, costs next to nothing to score — no model
 * served by this app can answer more requests than this.
 */
async function pop() {
  const { sessions, bodies } = catalogue();
  const model = trainBaseline('pop', sessions);
  const art = path.join(dir, 'pop-artifact');
  await model.save(art);
  const dataDir = path.join(dir, 'pop-data');
  await publish(dataDir, art, 'pop');
  return { key: 'pop', name: `pop-${ITEMS}-items`, dataDir, bodies };
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
  return { key: kind, name: `${kind}-yoochoose-${train.sessions.length}-sessions`, dataDir, bodies };
}

/** Per model key, per connection count, the rounds' { ceiling, ours } figures. */
const measured = {};
/** Per neural model key, the model-alone CPU per request by batch size. */
const alone = {};

/**
 * One line per neural model at 64 connections: the goal, the median figures, whether it is met,
 * and the bound — pop's share of the ceiling (what the app allows any model) and the CPU per
 * request of the ceiling, of the app with a free model, and of this model's server.
 */
function goalLines(alone) {
  const med = (rs, f) => median(rs.map(f));
  const bound = measured.pop?.[64];
  for (const [key, goal] of Object.entries(GOALS)) {
    const rs = measured[key]?.[64];
    if (!rs?.length) continue;
    const ratio = med(rs, (r) => r.ours.rps / r.ceiling.rps);
    const p99 = med(rs, (r) => r.ours.p99);
    const ceilingP99 = med(rs, (r) => r.ceiling.p99);
    const p99Bound = goal.p99VsCeiling ? goal.p99VsCeiling * ceilingP99 : null;
    const cpu = (xs, side) =>
      xs.every((r) => r[side].cpuUsPerRequest) ? med(xs, (r) => r[side].cpuUsPerRequest) : null;
    console.log(
      JSON.stringify({
        bench: 'serve',
        summary: 'goal',
        model: key,
        connections: 64,
        rounds: rs.length,
        goalVsCeiling: goal.ratio,
        throughputVsCeiling: Number(ratio.toFixed(3)),
        ...(p99Bound !== null ? { goalP99: p99Bound, p99, ceilingP99 } : {}),
        met: ratio >= goal.ratio && (p99Bound === null || p99 <= p99Bound),
        ...(rs.every((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)
          ? { cpuVsCeiling: median(rs.map((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)) }
          : {}),
        boundVsCeiling: bound ? Number(med(bound, (r) => r.ours.rps / r.ceiling.rps).toFixed(3)) : null,
        ...(bound?.every((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)
          ? { boundCpuVsCeiling: median(bound.map((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)) }
          : {}),
        cpuUsPerRequest: {
          ceiling: cpu(rs, 'ceiling'),
          app: bound ? cpu(bound, 'ours') : null,
          model: cpu(rs, 'ours'),
        },
        // The most this model can reach here: the ceiling's CPU per request over the app's (pop) plus
        // the model's own cost in full batches of 64, as if nothing else were lost.
        ...(bound && alone[key]?.[64] && cpu(rs, 'ceiling') && cpu(bound, 'ours')
          ? {
              modelAloneCpuUsPerRequest: alone[key][64],
              boundWithModelCpuVsCeiling: Number(
                (cpu(rs, 'ceiling') / (cpu(bound, 'ours') + alone[key][64])).toFixed(3),
              ),
            }
          : {}),
        load1: Number(os.loadavg()[0].toFixed(2)),
      }),
    );
  }
}

try {
  const hello = await startProcess([path.join(root, 'bench/serve/hello.mjs')]);
  try {
    const makers = { pop, gru4rec: () => neural('gru4rec'), sasrec: () => neural('sasrec'), vsknn, hybrid };
    for (const make of models.map((m) => makers[m])) {
      if (!make) throw new Error(`unknown model in ${models.join(',')} (pop, gru4rec, sasrec, vsknn, hybrid)`);
      const target = await make();
      if (target?.alone) alone[target.key] = target.alone;
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
      const prof = opts['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts['cpu-prof'])] : [];
      const skiff = await startProcess(
        [...prof, path.join(root, 'apps/cli/dist/main.js'), 'serve', '--port', '0', '--data-dir', target.dataDir],
        {
          SKIFF_LOG_LEVEL: 'warn',
          SKIFF_RATE_LIMIT_PER_MINUTE: String(rateLimit),
          SKIFF_SERVE_BATCH_SETTLE_MS: String(settleMs),
        },
      );
      try {
        const runs = { 1: [], 16: [], 64: [] };
        measured[target.key] = runs;
        for (let round = 0; round < rounds; round++)
          for (const connections of [1, 16, 64]) {
            const ceiling = await load(hello, connections, target.bodies);
            const ours = await load(skiff, connections, target.bodies);
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
                batchSettleMs: settleMs,
                ...ours,
                throughputVsCeiling: Number((ours.rps / ceiling.rps).toFixed(3)),
                ...cpuRatio(ceiling, ours),
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
                ...(rs.every((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)
                  ? { cpuVsCeiling: median(rs.map((r) => cpuRatio(r.ceiling, r.ours).cpuVsCeiling)) }
                  : {}),
              }),
            );
          }
      } finally {
        // Wait for the exit: a CPU profile is written as the process ends.
        const exited = new Promise((resolve) => skiff.child.once('exit', resolve));
        skiff.child.kill('SIGTERM');
        await exited;
      }
    }
    goalLines(alone);
  } finally {
    hello.child.kill('SIGTERM');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
