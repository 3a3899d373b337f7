import path from 'node:path';
import type { Command } from 'commander';
import { pipelineSettings, taskQueues } from '@skiff/config';
import type { PipelineParams } from '@skiff/core';
import {
  applySchedules,
  MONITOR_SCHEDULE_ID,
  RETRAIN_SCHEDULE_ID,
  type MonitoringParams,
} from '@skiff/orchestrator-temporal';
import { configureServingProcess, monitorOnce, startServing, untilSignal, type RunningServer } from '@skiff/runtime';
import { createContext, openTemporal, type Context, type GlobalOptions } from '../context.js';
import { readTrainParams } from './model.js';

export function serve(
  ctx: Context,
  port = ctx.config.servePort,
  host = ctx.config.serveHost,
  temporalUiUrl?: string | null,
): Promise<RunningServer> {
  return startServing(ctx.config, ctx.logger, { port, host, temporalUiUrl });
}

/** Monitoring params: retrain on drift under one id per dataset (so at most one at a time), alert. */
export function monitoringParams(ctx: Context, training: PipelineParams): MonitoringParams {
  return {
    retrainOnDrift: true,
    training,
    retrainWorkflowId: `retrain-on-drift-${path.basename(ctx.config.dataDir)}`,
    alert: true,
  };
}

/**
 * The schedules of the config: monitoring every `monitorEvery`, retraining daily at `retrainAt`.
 * `training`: what those runs train (default: the default training config with the config's settings).
 */
export async function applyScheduleSet(
  ctx: Context,
  client: Parameters<typeof applySchedules>[0],
  training?: PipelineParams,
) {
  const [h, m] = ctx.config.retrainAt.split(':').map(Number) as [number, number];
  training ??= {
    train: await readTrainParams(undefined),
    ...pipelineSettings(ctx.config),
    queues: taskQueues(ctx.config),
  };
  return applySchedules(client, monitoringParams(ctx, training), {
    monitorEvery: ctx.config.monitorEvery,
    retrainHour: h,
    retrainMinute: m,
    taskQueue: ctx.config.taskQueue,
  });
}

export function registerOpsCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the production alias over HTTP (hot-swaps on promotion)')
    .option('--port <n>', 'port (env SKIFF_SERVE_PORT)', (v) => Number(v))
    .option('--host <host>', 'bind address', undefined)
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      configureServingProcess(ctx.config);
      const s = await serve(ctx, opts.port ?? ctx.config.servePort, opts.host ?? ctx.config.serveHost);
      ctx.say(
        `serving ${s.models.current()?.manifest.version ?? '(no model yet)'} at ${s.url}  (POST /v1/recommendations, GET /healthz /readyz${s.metricsUrl ? `; metrics at ${s.metricsUrl}` : ' /metrics'})`,
      );
      await untilSignal();
      await s.close();
    });

  program
    .command('monitor')
    .description('one monitoring run: training snapshot vs serving log (or two CSVs)')
    .option('--reference <csv>')
    .option('--current <csv>')
    .option('--out <dir>', 'reports folder (default <data-dir>/reports)')
    .option('--window-hours <n>', 'only serving records from the last N hours', (v) => Number(v))
    .action(
      async (opts: { reference?: string; current?: string; out?: string; windowHours?: number }, cmd: Command) => {
        const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
        const r = await monitorOnce(ctx.config, ctx.logger, {
          ...(opts.out ? { reportsDir: path.resolve(opts.out) } : {}),
          ...(opts.reference ? { referenceCsv: opts.reference } : {}),
          ...(opts.current ? { currentCsv: opts.current } : {}),
          ...(opts.windowHours ? { windowHours: opts.windowHours } : {}),
        });
        for (const c of r.columns)
          ctx.say(
            `${c.drifted ? 'DRIFT' : 'ok   '}  ${c.column.padEnd(24)} ${c.method.padEnd(14)} score=${c.score.toPrecision(4)} threshold=${c.threshold}`,
          );
        ctx.say(`dataset drift: ${r.datasetDrift} (share ${r.share.toFixed(2)}, threshold ${r.driftShare})`);
        if (r.online)
          ctx.say(
            `online: HR@20 ${r.online['hr@20']?.toFixed(4) ?? '–'} over ${r.online.withNextEvent} judged requests`,
          );
        for (const s of r.skippedColumns ?? []) ctx.say(`skipped ${s.column}: ${s.reason}`);
        ctx.say(
          `report: ${r.htmlPath}\nEvidently snapshot: ${r.snapshotPath}${r.workspacePath ? `\nEvidently workspace: ${r.workspacePath} (evidently ui --workspace …)` : ''}`,
        );
        ctx.result(r);
      },
    );

  program
    .command('worker')
    .description('run a Temporal worker (workflows + activity queues; --queues picks the roles)')
    .option('--queues <roles>', 'comma-separated: workflows,data,training,monitoring (env SKIFF_WORKER_ROLES)')
    .action(async (opts: { queues?: string }, cmd: Command) => {
      const ctx = createContext(
        cmd.optsWithGlobals<GlobalOptions>(),
        opts.queues ? { workerRoles: opts.queues as never } : {},
      );
      const t = await openTemporal(ctx, { worker: true });
      ctx.say(
        `worker (${t.worker!.roles.join(', ')}) polling on ${t.server.address}${t.server.uiUrl ? ` (UI ${t.server.uiUrl})` : ''}`,
      );
      await Promise.race([untilSignal(), t.worker!.done]);
      await t.close();
    });

  const schedules = program.command('schedules').description('Temporal schedules');
  schedules
    .command('apply')
    .description('create or update the monitoring (retrains on drift) and nightly retraining schedules from config')
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const t = await openTemporal(ctx, { worker: false });
      try {
        const r = await applyScheduleSet(ctx, t.client.client);
        for (const s of r) ctx.say(`${s.created ? 'created' : 'updated'} ${s.scheduleId}: ${s.describe}`);
        ctx.result({ schedules: r });
      } finally {
        await t.close({ stopServer: false });
      }
    });
  schedules.command('list').action(async (_o: unknown, cmd: Command) => {
    const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
    const t = await openTemporal(ctx, { worker: false });
    try {
      const out: Array<{ scheduleId: string; paused: boolean }> = [];
      for await (const s of t.client.client.schedule.list())
        out.push({ scheduleId: s.scheduleId, paused: s.state.paused });
      const kind = (id: string) =>
        id === MONITOR_SCHEDULE_ID ? ' (monitoring)' : id === RETRAIN_SCHEDULE_ID ? ' (nightly retraining)' : '';
      for (const s of out) ctx.say(`${s.scheduleId}${kind(s.scheduleId)}${s.paused ? ' [paused]' : ''}`);
      ctx.result({ schedules: out });
    } finally {
      await t.close({ stopServer: false });
    }
  });
}
