// Serving latency and throughput: the real `skiff serve` in its own process with a 50k-item
// GRU4Rec model, loaded by autocannon from this process at 1, 16 and 64 connections, next to a
// bare Express endpoint (the ceiling). One JSON line per figure. Usage: node bench/serve/run.mjs [seconds]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createFsRegistry } from '../../packages/registry/dist/index.js';
import { trainGru4Rec } from '../../packages/model/dist/index.js';
import { mulberry32 as rng } from '../../packages/core/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seconds = Number(process.argv[2] ?? 8);
const ITEMS = 50_000;


async function startProcess(args, env = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
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
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, errors: result.errors + result.non2xx };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-serve-'));
try {
  // A model over 50k items: one epoch over pairs that cover the whole catalogue (latency does not
  // depend on how well it is trained).
  const r = rng(7);
  const sessions = [];
  for (let i = 0; i < ITEMS; i++) sessions.push([`i${i}`, `i${Math.floor(r() * ITEMS)}`, `i${(i + 1) % ITEMS}`]);
  const trained = await trainGru4Rec({ train: sessions, params: { model: 'gru4rec', embeddingDim: 64, hiddenUnits: 64, maxLen: 10, epochs: 1, batchSize: 256, learningRate: 0.005, seed: 1 } });
  const model = trained.model ?? trained;
  const art = path.join(dir, 'artifact');
  await model.save(art);
  const registry = createFsRegistry({ root: path.join(dir, 'data', 'registry') });
  const v = await registry.register({ name: 'gru4rec', sourceDir: art, metrics: {}, params: {}, lineage: { snapshotId: 'bench', loadIds: [], codeVersion: 'bench', backend: 'wasm' } });
  await registry.setAlias('production', v.version);

  const bodies = Array.from({ length: 1000 }, () => {
    const n = 1 + Math.floor(r() * 6);
    return JSON.stringify({ items: Array.from({ length: n }, () => `i${Math.floor(r() * ITEMS)}`), k: 20 });
  });
  const skiff = await startProcess([path.join(root, 'apps/cli/dist/main.js'), 'serve', '--port', '0', '--data-dir', path.join(dir, 'data')], { SKIFF_LOG_LEVEL: 'warn' });
  const hello = await startProcess([path.join(root, 'bench/serve/hello.mjs')]);
  try {
    for (const connections of [1, 16, 64]) {
      const ceiling = await load(hello.url, connections, bodies);
      const ours = await load(skiff.url, connections, bodies);
      console.log(JSON.stringify({ bench: 'serve', target: 'express-hello', model: null, connections, ...ceiling }));
      console.log(JSON.stringify({ bench: 'serve', target: 'skiff', model: `gru4rec-${ITEMS}-items`, connections, ...ours, throughputVsCeiling: Number((ours.rps / ceiling.rps).toFixed(3)) }));
    }
  } finally {
    skiff.child.kill('SIGTERM');
    hello.child.kill('SIGTERM');
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
