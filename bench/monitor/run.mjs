// Drift computation at scale: skiff's computeDrift (CSV parsing included) against Evidently 0.7
// `Report([DataDriftPreset()])` (pandas.read_csv included) on the same seeded CSV pair, in the same run.
// One JSON line per size: { bench: 'monitor', rows, skiffSeconds, evidentlySeconds, ratio, ... }.
// Usage: node bench/monitor/run.mjs [rows ...]   (default 1000000; needs `npm run build` of
// packages/monitoring and the venv .cache/evidently-venv, or EVIDENTLY_PYTHON).
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeDrift, readCsvFrame } from '../../packages/monitoring/dist/index.js';
import { mulberry32 } from '../../packages/core/dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const python = process.env.EVIDENTLY_PYTHON ?? path.join(root, '.cache', 'evidently-venv', 'bin', 'python');
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(1_000_000);

const NUM = ['amount', 'latency', 'items_in_cart'];
const CAT = ['city', 'device', 'flag'];
const CITIES = ['berlin', 'paris', 'rome', 'madrid', 'vienna', 'lisbon', 'oslo', 'dublin'];
const DEVICES = ['mobile', 'desktop', 'tablet'];

/** Seeded CSV: shift = 0 for the reference; the current drifts in amount, items_in_cart and city. */
async function writeCsv(file, rows, seed, shift) {
  const rng = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const out = createWriteStream(file);
  const write = (s) => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once('drain', r)));
  await write(`${[...NUM, ...CAT].join(',')}\n`);
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const amount = rng() < 0.01 ? '' : Math.exp(3 + 0.8 * normal() + shift * 0.3).toFixed(2);
    const latency = (20 + 5 * normal()).toFixed(3); // no drift
    const items = Math.min(99, Math.floor(-Math.log(1 - rng()) * (8 + shift * 4)));
    const c = Math.min(CITIES.length - 1, Math.floor(CITIES.length * rng() ** (1 + shift * 0.5)));
    const device = DEVICES[Math.floor(rng() * 3)];
    const flag = rng() < 0.3 ? 1 : 0;
    buf += `${amount},${latency},${items},${CITIES[c]},${device},${flag}\n`;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
}

async function skiff(refFile, curFile) {
  const t0 = performance.now();
  const [ref, cur] = await Promise.all([readCsvFrame(refFile), readCsvFrame(curFile)]);
  const t1 = performance.now();
  const columns = [...NUM.map((name) => ({ name, type: 'num' })), ...CAT.map((name) => ({ name, type: 'cat' }))];
  const result = computeDrift({ reference: ref.frame, current: cur.frame, columns });
  const t2 = performance.now();
  return { seconds: (t2 - t0) / 1000, parseSeconds: (t1 - t0) / 1000, driftSeconds: (t2 - t1) / 1000, result };
}

if (!existsSync(python)) {
  console.error(
    `no python at ${python} (create .cache/evidently-venv, see packages/monitoring/oracle/requirements.txt)`,
  );
  process.exit(1);
}
// SKIFF_BENCH_DATA=<dir> keeps the generated CSVs there (and reuses them on the next run).
const keep = process.env.SKIFF_BENCH_DATA;
const tmp = keep
  ? (await mkdir(keep, { recursive: true }), keep)
  : await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-monitor-'));
try {
  for (const rows of sizes) {
    const refFile = path.join(tmp, `ref-${rows}.csv`);
    const curFile = path.join(tmp, `cur-${rows}.csv`);
    if (!keep || !existsSync(refFile)) await writeCsv(refFile, rows, 1, 0);
    if (!keep || !existsSync(curFile)) await writeCsv(curFile, rows, 2, 1);
    const s = await skiff(refFile, curFile);
    const py = JSON.parse(
      execFileSync(
        python,
        [path.join(here, 'evidently_bench.py'), refFile, curFile, '--num', NUM.join(','), '--cat', CAT.join(',')],
        {
          encoding: 'utf8',
          maxBuffer: 16 << 20,
        },
      ),
    );
    let maxRel = 0;
    for (const c of s.result.columns) {
      const o = py.scores[c.column]?.score;
      if (o === undefined) throw new Error(`Evidently has no score for ${c.column}`);
      maxRel = Math.max(maxRel, o === 0 ? Math.abs(c.score) : Math.abs(c.score - o) / Math.abs(o));
    }
    const line = {
      bench: 'monitor',
      rows,
      skiffSeconds: +s.seconds.toFixed(3),
      evidentlySeconds: +py.seconds.toFixed(3),
      ratio: +(py.seconds / s.seconds).toFixed(2),
      skiffParseSeconds: +s.parseSeconds.toFixed(3),
      skiffDriftSeconds: +s.driftSeconds.toFixed(3),
      evidentlyReadSeconds: +py.readSeconds.toFixed(3),
      evidentlyRunSeconds: +py.runSeconds.toFixed(3),
      columns: s.result.columns.length,
      methods: Object.fromEntries(s.result.columns.map((c) => [c.column, c.method])),
      share: s.result.share,
      evidentlyShare: py.share,
      maxRelScoreDiff: Number(maxRel.toExponential(2)),
    };
    console.log(JSON.stringify(line));
  }
} finally {
  if (!keep) await rm(tmp, { recursive: true, force: true });
}
