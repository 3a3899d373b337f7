#!/usr/bin/env node
// Single-request serving cost of the neighbourhood kinds (V-SKNN, STAN, VSTAN, and the hybrid of
// apps/cli/configs/yoochoose-best.json: its chosen recipe) on the YooChoose
// rsc15-100k sample: each model is trained on train_full with its default (session-rec RSC15)
// settings, then asked for a top-20 list for every test prefix (the 10,152 prediction points of
// the evaluation), one `recommend` call at a time, in-process — the model's share of a request,
// without HTTP (bench/serve/run.mjs measures the whole server).
//
// Rounds alternate between the models so that a busy neighbour on the machine slows all of them
// alike; per model the line gives the median round (requests/s and per-request p50/p90/p99 in µs)
// and the best round, with the 1-minute load average at the start and end.
//
//   npm run build -w @skiff/core -w @skiff/model
//   taskset -c 0 node bench/knn-latency.mjs [--rounds 5] [--models vsknn,stan,vstan,hybrid] [--data-dir DIR]
//
// `taskset -c 0` pins the process to one core, so the figures are single-core figures.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as m from '../packages/model/dist/index.js';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '../packages/testing/dist/public-data.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const FILES = ['yoochoose-clicks-100k_train_full.txt', 'yoochoose-clicks-100k_test.txt'];
const lookup = findPublicData(YOOCHOOSE_SAMPLE, FILES, process.env);
const dataDir = path.resolve(option('--data-dir', lookup.dir ?? ''));
const rounds = Number(option('--rounds', '5'));
const kinds = option('--models', 'vsknn,stan,vstan,hybrid').split(',');
if (!existsSync(path.join(dataDir, FILES[0]))) {
  console.error(`knn-latency: ${publicDataSkipReason(YOOCHOOSE_SAMPLE, lookup)}; nothing to do`);
  process.exit(2);
}

const train = await m.readSessionTable(path.join(dataDir, 'yoochoose-clicks-100k_train_full.txt'));
const test = await m.readSessionFile(path.join(dataDir, 'yoochoose-clicks-100k_test.txt'));
const counts = m.itemCounts(train.sessions);
const prefixes = [];
for (const s of test) {
  const known = s.filter((i) => counts.has(i));
  for (let i = 1; i < known.length; i++) prefixes.push(known.slice(0, i));
}

/** The recipe yoochoose-best's search chose (its `$meta.trial`; skiff train re-selects among the candidates). */
function bestRecipe() {
  const c = JSON.parse(readFileSync(new URL('../apps/cli/configs/yoochoose-best.json', import.meta.url), 'utf8'));
  const chosen = c.candidates.find((x) => x.name === `trial-${c.$meta.trial}`) ?? c.candidates[0];
  return chosen.hybrid;
}

const models = kinds.map((kind) => {
  const t0 = performance.now();
  const model =
    kind === 'hybrid'
      ? m.trainCounted('hybrid', train.sessions, { lastTimes: train.lastTimes, hybrid: bestRecipe() })
      : m.trainBaseline(kind, train.sessions, { lastTimes: train.lastTimes });
  return { kind, model, fitSeconds: (performance.now() - t0) / 1000, rounds: [] };
});
const load0 = os.loadavg()[0];
const times = new Float64Array(prefixes.length);
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
for (const x of models) for (let i = 0; i < 500; i++) x.model.recommend(prefixes[i % prefixes.length], 20); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const x of models) {
    const start = performance.now();
    for (let i = 0; i < prefixes.length; i++) {
      const t = performance.now();
      x.model.recommend(prefixes[i], 20);
      times[i] = performance.now() - t;
    }
    const seconds = (performance.now() - start) / 1000;
    const sorted = Float64Array.from(times).sort();
    x.rounds.push({
      rps: prefixes.length / seconds,
      p50: pct(sorted, 0.5) * 1000,
      p90: pct(sorted, 0.9) * 1000,
      p99: pct(sorted, 0.99) * 1000,
    });
  }
}
const load1 = os.loadavg()[0];
for (const x of models) {
  const byRps = [...x.rounds].sort((a, b) => a.rps - b.rps);
  const med = byRps[Math.floor(byRps.length / 2)];
  const best = byRps[byRps.length - 1];
  const f = (o) => ({
    requestsPerSecond: Math.round(o.rps),
    p50us: Math.round(o.p50),
    p90us: Math.round(o.p90),
    p99us: Math.round(o.p99),
  });
  console.log(
    JSON.stringify({
      bench: 'knn-latency',
      model: x.kind,
      params: x.model.params,
      requests: prefixes.length,
      rounds,
      median: f(med),
      best: f(best),
      fitSeconds: Number(x.fitSeconds.toFixed(2)),
      loadavg1m: [Number(load0.toFixed(2)), Number(load1.toFixed(2))],
      cpu: os.cpus()[0]?.model?.trim(),
      node: process.version,
    }),
  );
}
