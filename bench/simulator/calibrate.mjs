#!/usr/bin/env node
// Calibration of the simulator against the YooChoose rsc15-100k sample: session structure side by
// side (session lengths, repeat clicks, distinct items per session, item-popularity Gini, how far the
// previous item predicts the next one), each with its tolerance. Exit code 1 when a default is out
// of tolerance.
//
//   npm run build -w @skiff/core -w @skiff/simulator
//   node bench/simulator/calibrate.mjs [--seeds 1,2,3] [--sessions 40000] [--markdown]
//        [--behaviour '{"repeat":0.2}'] [--catalogue '{"zipfExponent":1}']   (explore other settings)
//
// The sample is located like the tests do (SKIFF_YOOCHOOSE_DIR, else the usual fall-backs). Both
// sides go through the same statistics (`sequenceStats` of @skiff/simulator); the simulated log is
// first reduced to its item sequences as the pipeline builds them (every event with an item: views, clicks,
// carts, purchases) and filtered like the sample was prepared
// (sessions of ≥ 2 items, items seen ≥ 5 times).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  createCatalogue,
  filterSessions,
  itemSequences,
  sequenceStats,
  sessionEvents,
  ITEM_EVENT_TYPES,
  LENGTH_BUCKETS,
} from '../../packages/simulator/dist/index.js';
import { yoochooseDir } from '../yoochoose-split.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const seeds = option('--seeds', '1,2,3').split(',').map(Number);
// The demo's default volume (DEMO_DEFAULTS in apps/cli): 40,000 sessions over 7 days.
const sessions = Number(option('--sessions', '40000'));
const markdown = argv.includes('--markdown');
/** Overrides of the simulator's defaults, to explore (`--behaviour '{"repeat":0.2}'`, `--catalogue '{"zipfExponent":1}'`). */
const behaviour = JSON.parse(option('--behaviour', '{}'));
const catalogueOptions = JSON.parse(option('--catalogue', '{}'));

/** The sample as one log: train_full and test, grouped by session, time order within a session. */
function readSample() {
  const { dir, candidates } = yoochooseDir();
  if (!dir) throw new Error(`YooChoose sample not found (set SKIFF_YOOCHOOSE_DIR; tried ${candidates.join(', ')})`);
  const rows = [];
  for (const f of ['yoochoose-clicks-100k_train_full.txt', 'yoochoose-clicks-100k_test.txt']) {
    const lines = readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').slice(1);
    for (const l of lines) {
      const [s, i, t] = l.split('\t');
      rows.push([s, i, Number(t)]);
    }
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]));
  const by = new Map();
  for (const [s, i] of rows) (by.get(s) ?? by.set(s, []).get(s)).push(i);
  return [...by.values()];
}

function simulate(seed) {
  const catalogue = createCatalogue({ ...catalogueOptions, seed });
  const t0 = performance.now();
  const events = [];
  for (const s of sessionEvents({
    catalogue,
    sessions,
    seed,
    start: new Date(Date.UTC(2026, 0, 1)),
    days: 7,
    behaviour,
  }))
    for (const e of s) events.push(e);
  const ms = performance.now() - t0;
  return { seqs: filterSessions([...itemSequences(events, ITEM_EVENT_TYPES).values()]), ms, events: events.length };
}

// What is compared, and how close the simulator's defaults must come (absolute, or relative when `rel`).
const ROWS = [
  ...LENGTH_BUCKETS.filter((b) => b !== '1').map((b) => ({
    name: `sessions of length ${b}`,
    get: (s) => s.lengthShares[b] ?? 0,
    tol: 0.03,
    fmt: 'pct',
  })),
  { name: 'mean session length', get: (s) => s.meanLength, tol: 0.1, rel: true },
  { name: 'repeat share (next = previous item)', get: (s) => s.repeatShare, tol: 0.03, fmt: 'pct' },
  { name: 'next item already in session', get: (s) => s.inSessionShare, tol: 0.04, fmt: 'pct' },
  { name: 'distinct items per session', get: (s) => s.distinctPerSession, tol: 0.1, rel: true },
  { name: 'item-popularity Gini', get: (s) => s.popularityGini, tol: 0.05 },
  { name: 'follow share (top-3 successors of previous)', get: (s) => s.followShare, tol: 0.05, fmt: 'pct' },
];

const fmt = (v, f) => (f === 'pct' ? `${(100 * v).toFixed(1)} %` : v.toFixed(3));
const tolText = (r) => (r.rel ? `± ${100 * r.tol} % (rel.)` : r.fmt === 'pct' ? `± ${100 * r.tol} pp` : `± ${r.tol}`);

const real = sequenceStats(readSample());
const sims = seeds.map((seed) => ({ seed, ...simulate(seed) }));
const simStats = sims.map((s) => sequenceStats(s.seqs));
let failures = 0;
const table = ROWS.map((r) => {
  const ref = r.get(real);
  const vals = simStats.map((s) => r.get(s));
  const ok = vals.every((v) => Math.abs(v - ref) <= (r.rel ? r.tol * ref : r.tol + 1e-12));
  if (!ok) failures++;
  return [r.name, fmt(ref, r.fmt), ...vals.map((v) => fmt(v, r.fmt)), tolText(r), ok ? 'yes' : 'NO'];
});
const header = ['statistic', 'YooChoose sample', ...seeds.map((s) => `simulator seed ${s}`), 'tolerance', 'within'];
const counts = [
  'sessions / events / items',
  `${real.sessions} / ${real.events} / ${real.items}`,
  ...simStats.map((s) => `${s.sessions} / ${s.events} / ${s.items}`),
  '',
  '',
];
if (markdown) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  console.log(line(header));
  console.log(line(header.map(() => '---')));
  console.log(line(counts));
  for (const row of table) console.log(line(row));
} else {
  const rows = [header, counts, ...table];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const r of rows) console.log(r.map((v, c) => String(v).padEnd(widths[c])).join('  '));
}
console.log(
  `\n${sessions} sessions per seed generated in ${sims.map((s) => `${s.ms.toFixed(0)} ms`).join(', ')} (${sims.map((s) => s.events).join(', ')} events)`,
);
console.log(failures ? `${failures} statistic(s) out of tolerance` : 'every statistic within tolerance');
process.exitCode = failures ? 1 : 0;
