/**
 * Parity test against the real Evidently 0.7 (Python). Needs a venv with evidently installed at
 * $EVIDENTLY_PYTHON or <repo>/.cache/evidently-venv/bin/python; otherwise SKIPPED (never passes silently).
 * Create it with:
 *   python3 -m venv .cache/evidently-venv && .cache/evidently-venv/bin/pip install -r packages/monitoring/oracle/requirements.txt
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@skiff/core';
import { parseCsvFrame } from './csv.js';
import { computeDrift } from './drift.js';
import type { DriftInput, DriftResult, RawValue } from './drift.js';
import { writeReport } from './report.js';
import { runMonitor, type SkiffMonitorRunResult } from './run-monitor.js';
import { popRecommender, setupMonitorFixture, trainSessions } from './test-helpers/fixtures.js';
import { silentLogger } from '@skiff/core';

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, '..');
const repoRoot = resolve(pkgRoot, '..', '..');
const oracleScript = join(pkgRoot, 'oracle', 'evidently_oracle.py');
const python = process.env.EVIDENTLY_PYTHON ?? join(repoRoot, '.cache', 'evidently-venv', 'bin', 'python');

function evidentlyAvailable(): boolean {
  if (!existsSync(python)) return false;
  try {
    execFileSync(python, ['-c', 'import evidently'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const available = evidentlyAvailable();
if (!available) {
  console.warn(
    `[evidently-oracle] SKIPPED: no Python with evidently at ${python} (set EVIDENTLY_PYTHON or create the venv, see oracle/requirements.txt)`,
  );
}

// --- seeded data -----------------------------------------------------------------------------------
function normal(rng: () => number, mu: number, sd: number): number {
  const u = 1 - rng();
  const v = rng();
  return mu + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

interface Frame {
  [col: string]: RawValue[];
}
function frame(seed: number, n: number, shift: number): Frame {
  const rng = mulberry32(seed);
  const cats = ['alpha', 'beta', 'gamma', 'delta', 'eps'];
  const f: Frame = { x: [], y: [], k: [], city: [], flag: [] };
  for (let i = 0; i < n; i++) {
    f.x!.push(rng() < 0.03 ? null : round(normal(rng, shift, 1)));
    f.y!.push(round(Math.exp(normal(rng, 1 + shift / 4, 0.5)), 3));
    f.k!.push(Math.floor(rng() * (shift > 0 ? 26 : 24))); // ints, >20 unique in reference
    const p = rng() + shift / 10;
    f.city!.push(rng() < 0.02 ? null : (cats[Math.min(4, Math.floor(p * 4.2))] as string));
    f.flag!.push(rng() < 0.3 + shift / 5 ? 1 : 0);
  }
  return f;
}
function toCsv(f: Frame): string {
  const cols = Object.keys(f);
  const n = f[cols[0] as string]!.length;
  const lines = [cols.join(',')];
  for (let i = 0; i < n; i++) lines.push(cols.map((c) => (f[c]![i] === null ? '' : String(f[c]![i]))).join(','));
  return `${lines.join('\n')}\n`;
}

interface Case {
  name: string;
  nRef: number;
  nCur: number;
  shift: number;
  num: string[];
  cat: string[];
  methods?: Record<string, string>;
  /** Evidently's `drift_share` (default 0.5). */
  driftShare?: number;
}
const CASES: Case[] = [
  {
    name: 'small unequal n (exact KS, chi, z)',
    nRef: 300,
    nCur: 250,
    shift: 0.15,
    num: ['x', 'y', 'k'],
    cat: ['city', 'flag'],
  },
  { name: 'small equal n (exact KS square)', nRef: 500, nCur: 500, shift: 0.1, num: ['x', 'y'], cat: ['city', 'flag'] },
  {
    name: 'large n (Wasserstein, JS)',
    nRef: 3000,
    nCur: 2500,
    shift: 0.05,
    num: ['x', 'y', 'k'],
    cat: ['city', 'flag'],
  },
  {
    name: 'ref<=1000, cur>10000 (asymptotic kstwo)',
    nRef: 400,
    nCur: 12000,
    shift: 0.1,
    num: ['x', 'y'],
    cat: ['city'],
  },
  {
    name: 'forced PSI / KL / JS (histogram + value branches)',
    nRef: 800,
    nCur: 700,
    shift: 0.2,
    num: ['x', 'y', 'k'],
    cat: ['city', 'flag'],
    methods: { x: 'psi', y: 'kl_div', k: 'jensenshannon', city: 'psi', flag: 'kl_div' },
  },
  // skiff's default dataset rule (SKIFF_DRIFT_SHARE 0.1: any drifted column of up to six); one
  // column drifts here, which Evidently's 0.5 would not call dataset drift.
  {
    name: 'drift_share 0.1 (skiff default)',
    nRef: 3000,
    nCur: 2500,
    shift: 0.05,
    num: ['x', 'y', 'k'],
    cat: ['city', 'flag'],
    driftShare: 0.1,
  },
];

interface OracleColumn {
  method: string;
  method_display: string;
  threshold: number;
  score: number;
  drifted: boolean;
  id: string;
}
interface OracleOut {
  columns: Record<string, OracleColumn>;
  drifted_count: number;
  share: number;
  dataset_drift: boolean;
  drifted_columns_count_id: string;
  snapshot?: { loaded: boolean; metrics: Array<{ id: string; type: string; column: string | null; value: unknown }> };
}

const tmp = mkdtempSync(join(tmpdir(), 'skiff-evidently-oracle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let maxRel = 0;

describe.skipIf(!available)('parity with Evidently 0.7 (Python oracle)', () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))(
    '%s',
    async (_name, c, i) => {
      const ref = frame(1000 + i, c.nRef, 0);
      const cur = frame(2000 + i, c.nCur, c.shift);
      const refPath = join(tmp, `ref${i}.csv`);
      const curPath = join(tmp, `cur${i}.csv`);
      writeFileSync(refPath, toCsv(ref));
      writeFileSync(curPath, toCsv(cur));

      const input: DriftInput = {
        reference: ref,
        current: cur,
        columns: [
          ...c.num.map((name) => ({ name, type: 'num' as const })),
          ...c.cat.map((name) => ({ name, type: 'cat' as const })),
        ],
        ...(c.methods ? { perColumnMethod: c.methods } : {}),
        ...(c.driftShare !== undefined ? { driftShare: c.driftShare } : {}),
      };
      const ts: DriftResult = computeDrift(input);
      // The fast CSV reader (what the CLI and the bench use) gives the very same scores as in-memory frames.
      const viaCsv = computeDrift({
        ...input,
        reference: parseCsvFrame(toCsv(ref)).frame,
        current: parseCsvFrame(toCsv(cur)).frame,
      });
      expect(viaCsv.columns.map((x) => [x.method, x.score])).toEqual(ts.columns.map((x) => [x.method, x.score]));
      const outDir = join(tmp, `out${i}`);
      const { snapshotPath, htmlPath } = await writeReport({ result: ts, data: input, outDir, title: c.name });
      expect(readFileSync(htmlPath, 'utf8')).toContain('<svg');

      const args = [
        oracleScript,
        refPath,
        curPath,
        '--num',
        c.num.join(','),
        '--cat',
        c.cat.join(','),
        '--snapshot',
        snapshotPath,
        ...(c.driftShare !== undefined ? ['--drift-share', String(c.driftShare)] : []),
      ];
      if (c.methods)
        args.push(
          '--methods',
          Object.entries(c.methods)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        );
      console.log(
        `[evidently-oracle] ${c.name}: ${ts.columns.map((x) => `${x.column}:${x.method}=${x.score.toPrecision(6)}${x.drifted ? '*' : ''}`).join(' ')}`,
      );
      const py = JSON.parse(execFileSync(python, args, { encoding: 'utf8', maxBuffer: 64 << 20 })) as OracleOut;

      expect(Object.keys(py.columns).sort()).toEqual(ts.columns.map((x) => x.column).sort());
      for (const col of ts.columns) {
        const o = py.columns[col.column]!;
        expect(col.method, col.column).toBe(o.method);
        expect(col.threshold, col.column).toBe(o.threshold);
        expect(c.methods?.[col.column] ?? col.methodName).toBe(o.method_display);
        const rel = o.score === 0 ? Math.abs(col.score) : Math.abs(col.score - o.score) / Math.abs(o.score);
        maxRel = Math.max(maxRel, rel);
        expect(rel, `${col.column} ${col.method} ts=${col.score} py=${o.score}`).toBeLessThan(1e-6);
        expect(col.drifted, col.column).toBe(o.drifted);
      }
      expect(ts.nDrifted).toBe(py.drifted_count);
      expect(ts.share).toBeCloseTo(py.share, 15);
      expect(ts.datasetDrift).toBe(py.dataset_drift);
      // The case shows what the share changes: fewer than half of the columns drifted, yet dataset drift.
      if (c.driftShare !== undefined) expect([ts.share < 0.5, ts.datasetDrift]).toEqual([true, true]);

      // The snapshot we wrote was loaded by Evidently itself and carries the same values.
      expect(py.snapshot?.loaded).toBe(true);
      const loaded = py.snapshot!.metrics;
      expect(loaded).toHaveLength(ts.columns.length + 1);
      if (!c.methods) expect(loaded[0]!.id).toBe(py.drifted_columns_count_id);
      for (const col of ts.columns) {
        const m = loaded.find((x) => x.column === col.column)!;
        expect(m.type).toBe('evidently:metric_v2:ValueDrift');
        expect(m.value).toBe(col.score);
        expect(m.id).toBe(py.columns[col.column]!.id);
      }
    },
    120_000,
  );

  it('Evidently Workspace loads the runMonitor workspace: one project, every run, same drift share', async () => {
    const wdir = join(tmp, 'ws-case');
    const train = trainSessions();
    const startedAt = train.map((_, s) => new Date(Date.UTC(2026, 0, 1, s % 24)).toISOString());
    const model = popRecommender(train);
    // Every prefix of the first 300 sessions, with their session ids (session_length is one per session).
    const like = train
      .slice(0, 300)
      .flatMap((s, k) => s.slice(1).map((_, i) => ({ items: s.slice(0, i + 1), sessionId: `s${k}` })));
    // Two days of traffic: hour_of_day is only compared over a window of ≥ 24 h.
    const hourly = (requests: Array<{ items: string[]; sessionId?: string }>, hour?: number) =>
      requests.map((r, n) => ({
        ...r,
        ts: new Date(Date.UTC(2026, 0, 2 + (n % 2), hour ?? n % 24, n % 60)).toISOString(),
        recommended: model.recommend(r.items, 20),
      }));
    const f = await setupMonitorFixture(wdir, hourly(like), { train: { startedAt } });
    const drifted = hourly(
      Array.from({ length: 400 }, (_, s) => ({
        items: Array.from({ length: 10 + (s % 10) }, (_, i) => `new${s + i}`),
      })),
      3,
    );
    const results: SkiffMonitorRunResult[] = [];
    for (const [day, serving] of [hourly(like), drifted, hourly(like.slice(0, 200))].entries()) {
      writeFileSync(
        join(f.servingDir, 'serving-1.ndjson'),
        serving.map((r) => JSON.stringify({ ...r, k: 20 })).join('\n'),
      );
      results.push(
        await runMonitor({
          registry: f.registry,
          servingLogDir: f.servingDir,
          snapshotsDir: f.snapshotsDir,
          reportsDir: f.reportsDir,
          logger: silentLogger,
          recommender: model,
          now: new Date(Date.UTC(2026, 1, 1 + day, 6)),
        }),
      );
    }
    expect(results.map((r) => r.datasetDrift)).toEqual([false, true, false]);
    const py = JSON.parse(
      execFileSync(python, [oracleScript, '--workspace', results[0]!.workspacePath], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    ) as {
      workspace: {
        projects: Array<{
          id: string;
          name: string;
          description: null;
          version: string;
          dashboard_panels: string[];
          runs: Array<{
            id: string;
            share: number;
            count: number;
            columns: Record<string, number>;
            metadata: Record<string, string>;
          }>;
        }>;
        ui_series: Record<string, { share_series: number[]; sources: string[] }>;
      };
    };
    const ws = py.workspace;
    expect(ws.projects).toHaveLength(1);
    const p = ws.projects[0]!;
    expect(p).toMatchObject({ id: results[0]!.workspaceProjectId, name: 'skiff', description: null, version: '2' });
    expect(p.dashboard_panels).toEqual(['Share of drifted columns', 'Drift score per column']);
    expect(p.runs.map((r) => join(results[0]!.workspacePath, p.id, 'snapshots', `${r.id}.json`))).toEqual(
      results.map((r) => r.workspaceSnapshotPath),
    );
    p.runs.forEach((run, i) => {
      const r = results[i]!;
      expect(run.share).toBe(r.share);
      expect(run.count).toBe(r.columns.filter((c) => c.drifted).length);
      expect(run.metadata.model_version).toBe(r.modelVersion);
      for (const c of r.columns) expect(run.columns[c.column], c.column).toBe(c.score);
    });
    expect(Object.keys(p.runs[0]!.columns).sort()).toEqual([
      'hour_of_day',
      'item_popularity_bucket',
      'rec_popularity_bucket',
      'session_length',
      'top_score',
    ]);
    // The UI server's own storage rebuilds the dashboard series from the same files.
    expect(ws.ui_series[p.id]!.share_series).toEqual(results.map((r) => r.share));
    expect(ws.ui_series[p.id]!.sources).toEqual(p.runs.map((r) => r.id));
    console.log(
      `[evidently-oracle] workspace ${p.id}: ${p.runs.length} runs, drift share ${ws.ui_series[p.id]!.share_series.join(', ')}`,
    );
  }, 120_000);

  it('reports the max relative score error', () => {
    console.log(`[evidently-oracle] max relative score error vs Evidently: ${maxRel.toExponential(3)}`);
    expect(maxRel).toBeLessThan(1e-6);
  });
});
