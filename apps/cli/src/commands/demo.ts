import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { runMonitoring, applyMonitorSchedule } from '@skiff/orchestrator-temporal';
import { createCatalogue, generateSessions, writeRawLogs } from '@skiff/simulator';
import { createContext, type GlobalOptions } from '../context.js';
import { openTemporal } from '../temporal-session.js';
import { sendTraffic } from '../traffic.js';
import { printRun, readTrainParams } from './model.js';
import { serve, untilSignal } from './ops.js';

interface DemoOptions {
  once?: boolean;
  sessions: number;
  items: number;
  days: number;
  seed: number;
  epochs?: number;
  trafficSessions: number;
  drift?: boolean;
  port?: number;
}

/** Groups simulated events into ordered item sequences (what a shop frontend would send). */
function sequences(events: Array<{ session_id: string; item_id?: string | null | undefined }>): string[][] {
  const by = new Map<string, string[]>();
  for (const e of events) if (e.item_id) (by.get(e.session_id) ?? by.set(e.session_id, []).get(e.session_id)!).push(e.item_id);
  return [...by.values()].filter((s) => s.length > 1);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole loop on simulator data: logs → DuckDB → Temporal training → registry → serving → traffic → monitoring')
    .option('--once', 'stop everything this command started and exit')
    .option('--sessions <n>', 'simulated sessions', (v) => Number(v), 20_000)
    .option('--items <n>', 'catalogue size', (v) => Number(v), 2_000)
    .option('--days <n>', 'days of simulated traffic', (v) => Number(v), 7)
    .option('--seed <n>', 'simulator seed', (v) => Number(v), 1)
    .option('--epochs <n>', 'override training epochs', (v) => Number(v))
    .option('--traffic-sessions <n>', 'test sessions replayed through HTTP', (v) => Number(v), 300)
    .option('--drift', 'also send drifted traffic, so the monitor detects drift and starts retraining')
    .option('--port <n>', 'serving port (default: config; --once uses a free port)', (v) => Number(v))
    .action(async (opts: DemoOptions, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const t0 = Date.now();
      const step = (n: number, s: string) => ctx.say(`\n[${n}/6] ${s}  (+${((Date.now() - t0) / 1000).toFixed(1)} s)`);

      step(1, 'simulating shop logs');
      const catalogue = createCatalogue({ items: opts.items, seed: opts.seed });
      const start = new Date(Date.UTC(2026, 0, 1));
      const logs = await writeRawLogs({ dir: ctx.paths.raw, catalogue, sessions: opts.sessions, seed: opts.seed, start, days: opts.days });
      ctx.say(`  ${logs.events} events in ${logs.sessions} sessions → ${logs.files.join(', ')}`);

      step(2, 'reaching Temporal');
      const t = await openTemporal(ctx, { worker: true });
      const temporalUi = t.server.uiUrl;
      ctx.say(`  Temporal at ${t.server.address}${temporalUi ? `, Web UI ${temporalUi}` : ''} (${t.server.started ? 'started by skiff' : 'already running'})`);
      let server: Awaited<ReturnType<typeof serve>> | null = null;
      try {
        step(3, 'trainingPipeline: ingest → transform → validate → train → evaluate → register → promote');
        const train = await readTrainParams(undefined, opts.epochs ? { epochs: opts.epochs } : {});
        const workflowId = `demo-train-${Date.now()}`;
        if (temporalUi) ctx.say(`  follow it: ${temporalUi}/namespaces/${ctx.config.temporalNamespace}/workflows/${workflowId}`);
        const { runTraining } = await import('@skiff/orchestrator-temporal');
        const run = await runTraining(t.client.client, { train, promotionMetric: 'hr@20' }, { workflowId, taskQueue: ctx.config.taskQueue });
        printRun(ctx, run);

        step(4, 'serving the production model');
        server = await serve(ctx, opts.port ?? (opts.once ? 0 : ctx.config.servePort));
        ctx.say(`  ${server.url} serves ${server.models.current()?.manifest.version}`);

        step(5, 'sending traffic through HTTP');
        const snapshotDir = `${ctx.paths.snapshots}/${run.snapshotId}`;
        const test = (JSON.parse(await readFile(`${snapshotDir}/test.json`, 'utf8')) as { sessions: string[][] }).sessions;
        const normal = await sendTraffic(server.url, test.slice(0, opts.trafficSessions), { idPrefix: 'test' });
        ctx.say(`  ${normal.ok}/${normal.requests} requests ok, online HR@20 ${normal.onlineHr.toFixed(4)}`);
        if (opts.drift) {
          const drifted = sequences(generateSessions({ catalogue, sessions: opts.trafficSessions, seed: opts.seed + 1000, start: new Date(start.getTime() + opts.days * 86_400_000), days: 1, drift: { kind: 'popularity-shift' }, sessionIdOffset: 10_000_000 }));
          const d = await sendTraffic(server.url, drifted, { idPrefix: 'drift' });
          ctx.say(`  drifted traffic: ${d.ok}/${d.requests} requests ok, online HR@20 ${d.onlineHr.toFixed(4)}`);
        }

        step(6, 'monitoringWorkflow: training snapshot vs serving log');
        const mon = await runMonitoring(t.client.client, { retrainOnDrift: true, training: { train, promotionMetric: 'hr@20' } }, { workflowId: `demo-monitor-${Date.now()}`, taskQueue: ctx.config.taskQueue });
        for (const c of mon.report.columns) ctx.say(`  ${c.drifted ? 'DRIFT' : 'ok   '} ${c.column.padEnd(24)} ${c.method.padEnd(14)} score=${c.score.toPrecision(4)} (threshold ${c.threshold})`);
        ctx.say(`  dataset drift: ${mon.report.datasetDrift}; report ${mon.report.htmlPath}`);
        let retrain: unknown = null;
        if (mon.retrainWorkflowId) {
          ctx.say(`  drift → retraining started as ${mon.retrainWorkflowId}; waiting for it`);
          retrain = await t.client.client.workflow.getHandle(mon.retrainWorkflowId).result();
        }
        if (!opts.once) await applyMonitorSchedule(t.client.client, { retrainOnDrift: true, training: { train, promotionMetric: 'hr@20' } }, { taskQueue: ctx.config.taskQueue });

        ctx.say(`\nmodel ${run.modelVersion}: HR@20 ${run.metrics['hr@20']?.toFixed(4)} vs POP ${run.baselines['pop']?.['hr@20']?.toFixed(4)}`);
        ctx.say(`serving:  ${server.url}/v1/recommendations`);
        ctx.say(`report:   ${mon.report.htmlPath}`);
        if (temporalUi) ctx.say(`Temporal: ${temporalUi}`);
        ctx.say(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        ctx.result({
          modelVersion: run.modelVersion,
          metrics: run.metrics,
          baselines: run.baselines,
          promoted: run.promoted,
          servingUrl: server.url,
          traffic: normal,
          reportPath: mon.report.htmlPath,
          snapshotPath: mon.report.snapshotPath,
          datasetDrift: mon.report.datasetDrift,
          retrainWorkflowId: mon.retrainWorkflowId,
          retrain,
          temporalUi,
          workflowId,
        });
        if (!opts.once) {
          ctx.say('\nEverything is up (hourly monitoring schedule applied). Ctrl-C to stop.');
          await untilSignal();
        }
      } finally {
        await server?.close();
        await t.close({ stopServer: true });
      }
    });
}
