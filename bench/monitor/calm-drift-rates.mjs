#!/usr/bin/env node
// False-alarm and detection rates of the monitor on the demo's traffic, over seeds.
//
// Per seed, what `skiff demo --once [--drift <scenario>]` does, minus Temporal: the simulator writes
// the demo's shop logs; the training pipeline runs inline (the same stage functions and sequence the
// Temporal workflow runs: ingest → transform → validate → snapshot → train → evaluate → gate →
// register → promote, gate policy promote-best as in the demo); the serving app serves the production
// alias over HTTP; the demo's traffic function replays the demo's traffic (the first
// `trafficSessions` test sessions, and for a drift scenario the demo's day of drifted sessions); the
// monitoring activity (`monitorOnce`, what `monitoringWorkflow` runs) compares the served version's
// training snapshot with the serving log. Calm traffic and each drift scenario get a fresh serving log.
//
//   npx turbo run build     # the bench imports the built packages and apps/cli
//   nice node bench/monitor/calm-drift-rates.mjs [--seeds 1-10] [--traffic-sessions N] [--candidate sr]
//        [--scenarios calm,popularity-shift,category-shift,longer-sessions] [--port 25300] [--json out.jsonl]
//   node bench/monitor/calm-drift-rates.mjs --summarize a.jsonl,b.jsonl   # the rates of earlier runs' lines
//
// `--candidate` is the model the pipeline trains (default sr, so that a seed takes seconds, not
// minutes); under promote-best the served model is the best of it and the baselines (POP, SR, V-SKNN).
// The demo's candidate is GRU4Rec: `--candidate gru4rec` runs exactly that, much slower.
// Prints one JSON line per seed and scenario, then the rates per scenario and column: for calm traffic
// a false alarm is any drifted column or dataset drift; a drift scenario is detected when the column
// it changes drifts (popularity-shift → item_popularity_bucket, category-shift → category,
// longer-sessions → session_length). Dataset drift (share of drifted columns ≥ SKIFF_DRIFT_SHARE,
// default 0.1 = any column; what starts a retraining run) is shown next to it. Seeds can be split over
// several runs (`--seeds 1-5 --json a.jsonl`, `--seeds 6-10 --json b.jsonl`) and summarised together.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { pipelineSettings } from '../../packages/config/dist/index.js';
import { monitorOnce } from '../../packages/runtime/dist/index.js';
import { createCatalogue, generateSessions, writeRawLogs } from '../../packages/simulator/dist/index.js';
import { createContext } from '../../apps/cli/dist/context.js';
import {
  DEMO_DEFAULTS,
  DEMO_START,
  DRIFT_KINDS,
  driftTrafficOptions,
  sequences,
} from '../../apps/cli/dist/commands/demo.js';
import { readTrainParams, runPipeline } from '../../apps/cli/dist/commands/model.js';
import { serve } from '../../apps/cli/dist/commands/ops.js';
import { sendTraffic } from '../../apps/cli/dist/traffic.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
function seedList(text) {
  const [a, b] = text.split('-').map(Number);
  if (text.includes(',')) return text.split(',').map(Number);
  return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
}
const summarize = option('--summarize', null);
const seeds = seedList(option('--seeds', '1-10'));
const trafficSessions = Number(option('--traffic-sessions', String(DEMO_DEFAULTS.trafficSessions)));
const candidate = option('--candidate', 'sr');
const port = Number(option('--port', '0'));
const jsonOut = option('--json', null);
const scenarios = option('--scenarios', ['calm', ...DRIFT_KINDS].join(',')).split(',');
for (const s of scenarios)
  if (s !== 'calm' && !DRIFT_KINDS.includes(s))
    throw new Error(`--scenarios: unknown ${s} (calm, ${DRIFT_KINDS.join(', ')})`);
const demo = { ...DEMO_DEFAULTS, trafficSessions };

const quiet = { logLevel: 'warn', logFormat: 'json', json: true };
const lines = [];

async function oneSeed(seed) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `skiff-rates-${seed}-`));
  const ctx = createContext({ ...quiet, dataDir });
  try {
    const t0 = performance.now();
    const catalogue = createCatalogue({ items: demo.items, seed });
    await writeRawLogs({
      dir: ctx.paths.raw,
      catalogue,
      sessions: demo.sessions,
      seed,
      start: DEMO_START,
      days: demo.days,
    });
    const settings = pipelineSettings(ctx.config);
    const run = await runPipeline(
      ctx,
      {
        train: await readTrainParams(undefined, { model: candidate }),
        ...settings,
        gate: { ...settings.gate, policy: 'promote-best' },
      },
      { inline: true },
    );
    const served = run.decision?.promote ?? run.modelVersion;
    const test = JSON.parse(
      await readFile(path.join(ctx.paths.snapshots, run.snapshotId, 'test.json'), 'utf8'),
    ).sessions;
    const trainSeconds = (performance.now() - t0) / 1000;
    for (const scenario of scenarios) {
      const s0 = performance.now();
      const server = await serve(ctx, port, '127.0.0.1', null);
      let requests = 0;
      try {
        const calm = await sendTraffic(server.url, test.slice(0, demo.trafficSessions), { idPrefix: 'test' });
        requests += calm.requests;
        if (scenario !== 'calm') {
          const d = await sendTraffic(
            server.url,
            sequences(generateSessions(driftTrafficOptions(catalogue, demo, scenario))),
            { idPrefix: 'drift' },
          );
          requests += d.requests;
        }
      } finally {
        await server.close();
      }
      const r = await monitorOnce(ctx.config, ctx.logger);
      const line = {
        bench: 'calm-drift-rates',
        seed,
        scenario,
        served,
        trafficSessions: demo.trafficSessions,
        requests,
        currentRows: r.currentRows,
        referenceRows: r.referenceRows,
        datasetDrift: r.datasetDrift,
        driftShare: r.driftShare,
        share: r.share,
        candidate,
        columns: Object.fromEntries(
          r.columns.map((c) => [
            c.column,
            { method: c.method, score: Number(c.score.toPrecision(4)), drifted: c.drifted },
          ]),
        ),
        skipped: r.skippedColumns.map((c) => c.column),
        seconds: Number(((performance.now() - s0) / 1000).toFixed(1)),
        trainSeconds: Number(trainSeconds.toFixed(1)),
      };
      console.log(JSON.stringify(line));
      lines.push(line);
      // A fresh serving log (and follow-up events) for the next scenario: the run's logs are kept aside.
      for (const dir of [ctx.paths.servingLogs, ctx.paths.onlineEvents])
        await rename(dir, `${dir}-${scenario}`).catch(() => {});
    }
  } finally {
    if (!argv.includes('--keep')) await rm(dataDir, { recursive: true, force: true });
  }
}

if (summarize) {
  for (const file of summarize.split(','))
    // JSON lines only: a run's stdout (its lines, then its summary) is read as well as its --json file.
    for (const l of (await readFile(file, 'utf8')).split('\n').filter((x) => x.startsWith('{'))) {
      const line = JSON.parse(l);
      if (scenarios.includes(line.scenario)) lines.push(line);
    }
} else {
  for (const seed of seeds) {
    await oneSeed(seed);
    // Written after every seed, so a long run that is stopped keeps what it measured.
    if (jsonOut) await writeFile(jsonOut, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }
}
const seedsSeen = [...new Set(lines.map((l) => l.seed))].sort((a, b) => a - b);
const trafficSeen = [...new Set(lines.map((l) => l.trafficSessions))].join(', ');
const candidatesSeen = [...new Set(lines.map((l) => l.candidate ?? candidate))].join(', ');
const sharesSeen = [...new Set(lines.map((l) => l.driftShare).filter((x) => x !== undefined))].join(', ');

// Rates: calm → seeds with a drifted column or dataset drift (false alarms); a drift scenario →
// seeds where the column it changes drifted (detected), seeds with dataset drift, and per column.
const CHANGES = {
  'popularity-shift': 'item_popularity_bucket',
  'category-shift': 'category',
  'longer-sessions': 'session_length',
};
const columns = [...new Set(lines.flatMap((l) => Object.keys(l.columns)))];
console.log(
  `\n${seedsSeen.length} seeds (${seedsSeen.join(', ')}), ${trafficSeen} test sessions replayed, candidate ${candidatesSeen}, dataset drift share ${sharesSeen || '?'}`,
);
console.log(
  [
    'scenario',
    'false alarm / detected',
    'dataset drift',
    ...columns.map((c) => `${c} drifted`),
    'max score (calm) / min score (drift)',
  ].join(' | '),
);
for (const scenario of scenarios) {
  const ls = lines.filter((l) => l.scenario === scenario);
  const rate = (f) => `${ls.filter(f).length}/${ls.length}`;
  const extreme = columns
    .map((c) => {
      const v = ls.map((l) => l.columns[c]?.score).filter((x) => x !== undefined);
      if (v.length === 0) return null;
      return `${c} ${(scenario === 'calm' ? Math.max(...v) : Math.min(...v)).toPrecision(3)}`;
    })
    .filter(Boolean)
    .join(', ');
  const verdict =
    scenario === 'calm'
      ? `false alarm ${rate((l) => l.datasetDrift || Object.values(l.columns).some((c) => c.drifted))}`
      : `detected ${rate((l) => l.columns[CHANGES[scenario]]?.drifted)}`;
  console.log(
    [
      scenario,
      verdict,
      rate((l) => l.datasetDrift),
      ...columns.map((c) => rate((l) => l.columns[c]?.drifted)),
      extreme,
    ].join(' | '),
  );
}
