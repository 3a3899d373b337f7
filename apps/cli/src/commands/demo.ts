import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { taskQueues } from '@skiff/config';
import { runMonitoring, runTraining } from '@skiff/orchestrator-temporal';
import type { PipelineRunResult } from '@skiff/pipeline';
import { trainingBackend, untilSignal, type RunningServer } from '@skiff/runtime';
import { SkiffError } from '@skiff/core';
import {
  createCatalogue,
  generateSessions,
  writeRawLogs,
  type Catalogue,
  type DriftScenario,
  type GenerateSessionsOptions,
} from '@skiff/simulator';
import { createContext, openTemporal, type Context, type GlobalOptions } from '../context.js';
import { sendTraffic } from '../traffic.js';
import { printRun, readTrainingConfig, settingsWith } from './model.js';
import { applyScheduleSet, monitoringParams, serve } from './ops.js';

/** The simulator's drift scenarios (`--drift <kind>`). */
export const DRIFT_KINDS: ReadonlyArray<DriftScenario['kind']> = [
  'popularity-shift',
  'category-shift',
  'longer-sessions',
];

export interface DemoOptions {
  once?: boolean;
  sessions: number;
  items: number;
  days: number;
  seed: number;
  epochs?: number;
  /** Training config (file or shipped name); default the demo's candidate set (`DEMO_TRAIN_CONFIG`). */
  config?: string;
  trafficSessions: number;
  /** true = popularity-shift; or a simulator scenario kind. */
  drift?: boolean | string;
  port?: number;
}

/** Groups simulated events into ordered item sequences (what a shop frontend would send). */
export function sequences(events: Array<{ session_id: string; item_id?: string | null | undefined }>): string[][] {
  const by = new Map<string, string[]>();
  for (const e of events)
    if (e.item_id) (by.get(e.session_id) ?? by.set(e.session_id, []).get(e.session_id)!).push(e.item_id);
  return [...by.values()].filter((s) => s.length > 1);
}

/** The day the demo simulates from. */
export const DEMO_START = new Date(Date.UTC(2026, 0, 1));

/** Checks a `--drift` value and names its scenario (true = popularity-shift). */
export function driftKind(drift: boolean | string): DriftScenario['kind'] {
  const kind = drift === true ? 'popularity-shift' : drift;
  if (!DRIFT_KINDS.includes(kind as DriftScenario['kind']))
    throw new SkiffError('BAD_INPUT', `--drift: unknown scenario ${String(kind)} (one of ${DRIFT_KINDS.join(', ')})`);
  return kind as DriftScenario['kind'];
}

/**
 * The demo's day of drifted shop traffic after the simulated days: twice as many sessions as the
 * replayed test sessions, from another seed, with session ids of their own.
 */
export function driftTrafficOptions(
  catalogue: Catalogue,
  opts: Pick<DemoOptions, 'seed' | 'days' | 'trafficSessions'>,
  kind: DriftScenario['kind'],
): GenerateSessionsOptions {
  return {
    catalogue,
    sessions: opts.trafficSessions * 2,
    seed: opts.seed + 1000,
    start: new Date(DEMO_START.getTime() + opts.days * 86_400_000),
    days: 1,
    drift: { kind } as DriftScenario,
    sessionIdOffset: 10_000_000,
  };
}

export interface DemoHandle {
  result: DemoResult;
  /** Stops what the demo started (serving, worker, the Temporal server if skiff started it). */
  close(): Promise<void>;
}

export interface DemoResult {
  modelVersion: string;
  metrics: Record<string, number>;
  baselines: Record<string, Record<string, number>>;
  promoted: boolean;
  /** The candidates scored on validation and the one chosen (then refit and gated as `candidate`). */
  candidates?: PipelineRunResult['candidates'];
  /** What `production` points to after the run (the candidate or, under promote-best, a baseline). */
  promotedVersion?: string;
  /** The version served after the training run (what `production` points to). */
  servedVersion: string;
  /** The demo's one-line account of what the gate decided and what is served. */
  outcome: string;
  /** The gate's comparison and decision (every model, every interval). */
  comparison?: PipelineRunResult['comparison'];
  decision?: PipelineRunResult['decision'];
  servingUrl: string;
  dashboardUrl: string;
  traffic: Awaited<ReturnType<typeof sendTraffic>>;
  reportPath: string;
  snapshotPath: string;
  datasetDrift: boolean;
  retrainWorkflowId: string | null;
  retrain: unknown;
  temporalUi: string | null;
  workflowId: string;
}

export const DEMO_DEFAULTS = { sessions: 40_000, items: 2_000, days: 7, seed: 1, trafficSessions: 2_000 };

/**
 * The demo's training config (shipped, apps/cli/configs/demo.json): a small candidate set that goes
 * through the same model selection as any pipeline run — each candidate trained on train and scored
 * on validation, the best refit on train + validation and gated against the baselines.
 */
export const DEMO_TRAIN_CONFIG = 'demo';

/** What the run's `candidate` is: the chosen candidate's name under model selection, else the model kind. */
function candidateName(run: PipelineRunResult, kind: string): string {
  return run.candidates?.chosen ?? kind;
}

/** `v0002 (sr)`: what production points to at the end (a drift retraining may have moved it). */
function productionAfter(
  served: { version: string; name: string },
  retrain: PipelineRunResult | null,
  kind: string,
): string {
  const moved = retrain?.promoted && retrain.promotedVersion;
  if (!moved) return `${served.version} (${served.name})`;
  const who = retrain.decision?.promote;
  return `${retrain.promotedVersion} (${!who || who === 'candidate' ? candidateName(retrain, kind) : who}, by the retraining)`;
}

/**
 * What the gate decided and what the demo serves, in words: a clear winner; no clear winner on a
 * fresh data dir (the run's best model on the point estimate is served); or no clear winner with a
 * champion in production (the champion stays).
 */
export function demoOutcome(run: PipelineRunResult): string {
  const d = run.decision;
  const name = (m: string) =>
    m === 'candidate'
      ? `the candidate ${run.candidates ? `${run.candidates.chosen} ` : ''}${run.modelVersion}`
      : `the ${m} baseline`;
  if (!d) return run.promoted ? `promoted: ${run.promotionReason}` : `production unchanged: ${run.promotionReason}`;
  const pct = `${Math.round(d.confidence * 1000) / 10}%`;
  if (run.promoted && d.fallback)
    return `NO CLEAR WINNER: no model beat every other at ${pct}; production was empty, so the demo serves the best model of the run on the point estimate, ${name(d.promote!)} (${run.promotedVersion}).`;
  if (run.promoted)
    return `clear winner: ${name(d.promote!)} beat every other model at ${pct} and is served (${run.promotedVersion}).`;
  // Decided, but production moved before it could be applied: the reason says so.
  if (d.promote) return `not promoted: ${run.promotionReason}`;
  if (d.champion && d.checks.every((c) => c.role === 'champion' || c.passed))
    return `not promoted: ${name(d.contender)} beat every baseline but not the champion at ${pct}; production stays ${d.champion}.`;
  if (d.champion)
    return `NO CLEAR WINNER: no model of the run beat every other at ${pct}; production stays the existing champion ${d.champion}.`;
  return `not promoted: ${run.promotionReason}`;
}

/** The whole loop (docs/design.md, The loop) on simulator data; leaves everything running until close(). */
export async function runDemo(ctx: Context, opts: DemoOptions): Promise<DemoHandle> {
  const t0 = Date.now();
  const step = (n: number, s: string) => ctx.say(`\n[${n}/6] ${s}  (+${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  step(1, 'simulating shop logs');
  const catalogue = createCatalogue({ items: opts.items, seed: opts.seed });
  const start = DEMO_START;
  const logs = await writeRawLogs({
    dir: ctx.paths.raw,
    catalogue,
    sessions: opts.sessions,
    seed: opts.seed,
    start,
    days: opts.days,
  });
  ctx.say(`  ${logs.events} events in ${logs.sessions} sessions → ${logs.files.join(', ')}`);

  step(2, 'reaching Temporal');
  const t = await openTemporal(ctx, { worker: true });
  const temporalUi = t.server.uiUrl;
  ctx.say(
    `  Temporal at ${t.server.address}${temporalUi ? `, Web UI ${temporalUi}` : ''} (${t.server.started ? 'started by skiff' : 'already running'})`,
  );
  // The worker in this process trains: say once which backend it got, and why when it is WASM.
  const { backend, whyNotNative } = await trainingBackend(ctx.config);
  ctx.say(
    backend === 'tensorflow'
      ? '  training backend: native TensorFlow (tfjs-node)'
      : `  training backend: WASM, because ${whyNotNative} (\`npm run setup\` provisions native TensorFlow)`,
  );
  let server: RunningServer | null = null;
  const close = async () => {
    await server?.close();
    await t.close({ stopServer: true });
  };
  try {
    step(3, 'trainingPipeline: ingest → transform → validate → select → train → evaluate → register → promote');
    const { train, candidates, gate } = await readTrainingConfig(
      opts.config ?? DEMO_TRAIN_CONFIG,
      opts.epochs ? { epochs: opts.epochs } : {},
    );
    // The demo promotes whichever model wins its test (a baseline too) — never a model that a
    // baseline beat in the same run. When no model wins clearly, an existing champion stays; on a
    // fresh data dir the run's best model on the point estimate is served, and the demo says so.
    const settings = settingsWith(ctx.config, gate);
    const training = {
      train,
      ...(candidates ? { candidates } : {}),
      ...settings,
      gate: { ...settings.gate, policy: 'promote-best' as const, noWinner: 'serve-best' as const },
      queues: taskQueues(ctx.config),
    };
    const workflowId = `demo-train-${Date.now()}`;
    if (temporalUi)
      ctx.say(`  follow it: ${temporalUi}/namespaces/${ctx.config.temporalNamespace}/workflows/${workflowId}`);
    const run = await runTraining(t.client.client, training, { workflowId, taskQueue: ctx.config.taskQueue });
    printRun(ctx, run);
    const outcome = demoOutcome(run);
    ctx.say(`  ${outcome}`);

    step(4, 'serving the production model');
    server = await serve(ctx, opts.port ?? (opts.once ? 0 : ctx.config.servePort), ctx.config.serveHost, temporalUi);
    const served = server.models.current()?.manifest;
    if (!served)
      throw new SkiffError(
        'MODEL_NOT_FOUND',
        `nothing to serve: production is empty after the training run (${run.promotionReason})`,
      );
    ctx.say(`  ${server.url} serves ${served.name} ${served.version}; dashboard ${server.url}/dashboard`);

    step(5, 'sending traffic through HTTP');
    const test = (
      JSON.parse(await readFile(path.join(ctx.paths.snapshots, run.snapshotId, 'test.json'), 'utf8')) as {
        sessions: string[][];
      }
    ).sessions;
    const normal = await sendTraffic(server.url, test.slice(0, opts.trafficSessions), { idPrefix: 'test' });
    ctx.say(`  ${normal.ok}/${normal.requests} requests ok, online HR@20 ${normal.onlineHr.toFixed(4)}`);
    if (opts.drift) {
      // A day of drifted shop traffic: it lands in the raw area (so retraining learns from it)
      // and goes through the serving API (so the monitor sees it).
      const kind = driftKind(opts.drift);
      const driftOpts = driftTrafficOptions(catalogue, opts, kind);
      await writeRawLogs({ dir: ctx.paths.raw, ...driftOpts });
      const d = await sendTraffic(server.url, sequences(generateSessions(driftOpts)), { idPrefix: 'drift' });
      ctx.say(`  drifted traffic (${kind}): ${d.ok}/${d.requests} requests ok, online HR@20 ${d.onlineHr.toFixed(4)}`);
    }

    step(6, 'monitoringWorkflow: training snapshot vs serving log');
    const mon = await runMonitoring(t.client.client, monitoringParams(ctx, training), {
      workflowId: `demo-monitor-${Date.now()}`,
      taskQueue: ctx.config.taskQueue,
    });
    if (mon.retrainSkipped) ctx.say(`  no retraining started: ${mon.retrainSkipped}`);
    for (const c of mon.report.columns)
      ctx.say(
        `  ${c.drifted ? 'DRIFT' : 'ok   '} ${c.column.padEnd(24)} ${c.method.padEnd(14)} score=${c.score.toPrecision(4)} (threshold ${c.threshold})`,
      );
    for (const c of mon.report.skippedColumns ?? []) ctx.say(`  skip  ${c.column.padEnd(24)} ${c.reason}`);
    if (mon.report.quality)
      ctx.say(`  ${mon.report.quality.dropped ? 'QUALITY DROP' : 'quality ok'}: ${mon.report.quality.reason}`);
    ctx.say(`  dataset drift: ${mon.report.datasetDrift}; report ${mon.report.htmlPath}`);
    let retrain: PipelineRunResult | null = null;
    if (mon.retrainWorkflowId) {
      ctx.say(`  ${mon.trigger ?? 'drift'} → retraining started as ${mon.retrainWorkflowId}; waiting for it`);
      retrain = (await t.client.client.workflow.getHandle(mon.retrainWorkflowId).result()) as PipelineRunResult;
      printRun(ctx, retrain);
      ctx.say(`  ${demoOutcome(retrain)}`);
    }
    // The scheduled monitoring and nightly runs train what the demo trained (its candidate set).
    if (!opts.once) await applyScheduleSet(ctx, t.client.client, training);

    const chosen = run.candidates ? ` (${run.candidates.chosen}, chosen on validation)` : '';
    ctx.say(
      `\nmodel ${run.modelVersion}${chosen}: HR@20 ${run.metrics['hr@20']?.toFixed(4)}; ${Object.entries(run.baselines)
        .map(([n, m]) => `${n.toUpperCase()} ${m['hr@20']?.toFixed(4)}`)
        .join(', ')}; production: ${productionAfter(served, retrain, train.model)}`,
    );
    ctx.say(outcome);
    ctx.say(`serving:  ${server.url}/v1/recommendations`);
    ctx.say(`dashboard: ${server.url}/dashboard`);
    ctx.say(`report:   ${mon.report.htmlPath}`);
    if (temporalUi) ctx.say(`Temporal: ${temporalUi}`);
    ctx.say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return {
      result: {
        modelVersion: run.modelVersion,
        metrics: run.metrics,
        baselines: run.baselines,
        promoted: run.promoted,
        ...(run.candidates ? { candidates: run.candidates } : {}),
        ...(run.promotedVersion ? { promotedVersion: run.promotedVersion } : {}),
        servedVersion: served.version,
        outcome,
        ...(run.comparison ? { comparison: run.comparison } : {}),
        ...(run.decision ? { decision: run.decision } : {}),
        servingUrl: server.url,
        dashboardUrl: `${server.url}/dashboard`,
        traffic: normal,
        reportPath: mon.report.htmlPath,
        snapshotPath: mon.report.snapshotPath,
        datasetDrift: mon.report.datasetDrift,
        retrainWorkflowId: mon.retrainWorkflowId,
        retrain,
        temporalUi,
        workflowId,
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole loop on simulator data: logs → DuckDB → Temporal training → registry → serving → traffic → monitoring',
    )
    .option('--once', 'stop everything this command started and exit')
    .option('--sessions <n>', 'simulated sessions', (v) => Number(v), DEMO_DEFAULTS.sessions)
    .option('--items <n>', 'catalogue size', (v) => Number(v), DEMO_DEFAULTS.items)
    .option('--days <n>', 'days of simulated traffic', (v) => Number(v), DEMO_DEFAULTS.days)
    .option('--seed <n>', 'simulator seed', (v) => Number(v), DEMO_DEFAULTS.seed)
    .option('--epochs <n>', 'override training epochs (every candidate)', (v) => Number(v))
    .option(
      '--config <file|name>',
      `training config: a JSON file or a shipped name (default ${DEMO_TRAIN_CONFIG}, the demo's candidate set)`,
    )
    .option(
      '--traffic-sessions <n>',
      'test sessions replayed through HTTP',
      (v) => Number(v),
      DEMO_DEFAULTS.trafficSessions,
    )
    .option(
      '--drift [scenario]',
      `also send a day of drifted traffic (${DRIFT_KINDS.join(' | ')}; default popularity-shift), so the monitor detects drift and retrains`,
    )
    .option('--port <n>', 'serving port (default: config; --once uses a free port)', (v) => Number(v))
    .action(async (opts: DemoOptions, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const demo = await runDemo(ctx, opts);
      try {
        ctx.result(demo.result);
        if (!opts.once) {
          ctx.say('\nEverything is up (monitoring and nightly retraining schedules applied). Ctrl-C to stop.');
          await untilSignal();
        }
      } finally {
        await demo.close();
      }
    });
}
