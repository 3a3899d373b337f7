import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SkiffError, TrainParamsSchema, type DatasetSnapshot, type PipelineParams, type TrainParams } from '@skiff/core';
import path from 'node:path';
import { taskQueues } from '@skiff/config';
import { startTraining, trainingStatus, trainingWorkflowId } from '@skiff/orchestrator-temporal';
import { createPipelineActivities, runTrainingPipeline, type PipelineRunResult } from '@skiff/pipeline';
import { buildPipelineDeps } from '@skiff/worker';
import { createContext, type Context, type GlobalOptions } from '../context.js';
import { openTemporal } from '../temporal-session.js';

export const DEFAULT_TRAIN_CONFIG = fileURLToPath(new URL('../../configs/gru4rec.json', import.meta.url));

export async function readTrainParams(file: string | undefined, overrides: Partial<TrainParams> = {}): Promise<TrainParams> {
  const raw = JSON.parse(await readFile(file ?? DEFAULT_TRAIN_CONFIG, 'utf8')) as unknown;
  const parsed = TrainParamsSchema.safeParse({ ...(raw as object), ...overrides });
  if (!parsed.success) throw new SkiffError('CONFIG_INVALID', `invalid training config ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function printRun(ctx: Context, r: PipelineRunResult): void {
  const f = (v: number | undefined) => (v === undefined ? '   -  ' : v.toFixed(4));
  ctx.say(`model ${r.modelVersion} (${r.backend}), snapshot ${r.snapshotId}, workflow ${r.workflowId}`);
  ctx.say(`            HR@20    MRR@20   HR@10    NDCG@20`);
  ctx.say(`  model     ${f(r.metrics['hr@20'])}   ${f(r.metrics['mrr@20'])}   ${f(r.metrics['hr@10'])}   ${f(r.metrics['ndcg@20'])}`);
  for (const [name, m] of Object.entries(r.baselines)) ctx.say(`  ${name.toUpperCase().padEnd(9)} ${f(m['hr@20'])}   ${f(m['mrr@20'])}   ${f(m['hr@10'])}   ${f(m['ndcg@20'])}`);
  ctx.say(`  ${r.promoted ? 'promoted to production' : 'not promoted'}: ${r.promotionReason}`);
}

/** Runs the pipeline through Temporal (default) or inline (same sequence, same stage functions). */
export async function runPipeline(ctx: Context, params: PipelineParams, options: { inline: boolean; workflowId?: string }): Promise<PipelineRunResult> {
  const workflowId = options.workflowId ?? trainingWorkflowId(path.basename(ctx.config.dataDir), new Date());
  if (options.inline) {
    const acts = createPipelineActivities(buildPipelineDeps(ctx.config, ctx.logger.child({ runId: workflowId })));
    return runTrainingPipeline(acts, params, { workflowId, runId: 'inline' });
  }
  const t = await openTemporal(ctx, { worker: true });
  try {
    if (t.server.uiUrl) ctx.say(`Temporal UI: ${t.server.uiUrl}/namespaces/${ctx.config.temporalNamespace}/workflows/${workflowId}`);
    const { handle, joined } = await startTraining(t.client.client, { ...params, queues: taskQueues(ctx.config) }, { workflowId, taskQueue: ctx.config.taskQueue });
    if (joined) ctx.say(`  ${workflowId} already ran: returning its result instead of starting it again`);
    return await handle.result();
  } finally {
    await t.close();
  }
}

/**
 * Retrains a registered version from what its manifest recorded (the dataset snapshot its loads
 * produced, params, seed) and reports each metric next to the original. Nothing is registered.
 */
async function reproduce(ctx: Context, version: string): Promise<void> {
  const deps = buildPipelineDeps(ctx.config, ctx.logger);
  const { manifest } = await deps.registry.get(version);
  const snapshotFile = path.join(ctx.paths.snapshots, manifest.lineage.snapshotId, 'snapshot.json');
  const snapshot = await readFile(snapshotFile, 'utf8').then(
    (t) => JSON.parse(t) as DatasetSnapshot,
    () => {
      throw new SkiffError('BAD_INPUT', `snapshot ${manifest.lineage.snapshotId} of ${version} is gone (${snapshotFile}); rebuild it from loads ${manifest.lineage.loadIds.join(', ')} with skiff ingest + transform`);
    },
  );
  const params = TrainParamsSchema.parse(manifest.params);
  ctx.say(`reproducing ${version} (${params.model}, seed ${params.seed}) from ${snapshot.snapshotId}, loads ${manifest.lineage.loadIds.join(', ')}`);
  const out = await deps.trainer.train({ snapshot, params, outDir: path.join(ctx.paths.artifacts, `reproduce-${version}-${Date.now()}`) });
  const ev = await deps.trainer.evaluate({ snapshot, artifactDir: out.artifactDir, ks: [10, 20] });
  const metrics = Object.fromEntries(
    Object.entries(manifest.metrics).map(([k, original]) => {
      const reproduced = ev.metrics[k] ?? NaN;
      return [k, { original, reproduced, diff: reproduced - original }];
    }),
  );
  const maxAbsDiff = Math.max(...Object.values(metrics).map((m) => Math.abs(m.diff)));
  for (const [k, m] of Object.entries(metrics)) ctx.say(`  ${k.padEnd(14)} ${m.original.toFixed(4)} → ${m.reproduced.toFixed(4)} (${m.diff >= 0 ? '+' : ''}${m.diff.toFixed(4)})`);
  ctx.say(`backend ${manifest.lineage.backend} → ${out.backend}; largest difference ${maxAbsDiff.toFixed(4)}`);
  ctx.result({ version, snapshotId: snapshot.snapshotId, backend: { original: manifest.lineage.backend, reproduced: out.backend }, metrics, maxAbsDiff });
}

export function registerModelCommands(program: Command): void {
  program
    .command('train')
    .description('ingest + transform + validate + train + evaluate + register (+ promote), through Temporal unless --inline')
    .option('--model <model>', 'gru4rec|pop|sr|vsknn', 'gru4rec')
    .option('--config <file>', 'training config (JSON)')
    .option('--epochs <n>', 'override epochs', (v) => Number(v))
    .option('--inline', 'run the stages in this process instead of through Temporal')
    .option('--reproduce <version>', 'retrain a registered version from its snapshot, params and seed, and compare the metrics')
    .action(async (opts: { model: string; config?: string; epochs?: number; inline?: boolean; reproduce?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      if (opts.reproduce) return reproduce(ctx, opts.reproduce);
      const train = await readTrainParams(opts.config, { model: opts.model as TrainParams['model'], ...(opts.epochs ? { epochs: opts.epochs } : {}) });
      const r = await runPipeline(ctx, { train, promotionMetric: 'hr@20' }, { inline: Boolean(opts.inline) });
      printRun(ctx, r);
      ctx.result(r);
    });

  const pipeline = program.command('pipeline').description('the training workflow on Temporal');
  pipeline
    .command('run')
    .description('start trainingPipeline on Temporal and wait for it')
    .option('--config <file>', 'training config (JSON)')
    .option('--workflow-id <id>')
    .action(async (opts: { config?: string; workflowId?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const r = await runPipeline(ctx, { train: await readTrainParams(opts.config), promotionMetric: 'hr@20' }, { inline: false, ...(opts.workflowId ? { workflowId: opts.workflowId } : {}) });
      printRun(ctx, r);
      ctx.result({ workflowId: r.workflowId, modelVersion: r.modelVersion, promoted: r.promoted, metrics: r.metrics });
    });
  pipeline
    .command('status')
    .argument('<workflowId>')
    .action(async (workflowId: string, _opts: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const t = await openTemporal(ctx, { worker: false });
      try {
        const s = await trainingStatus(t.client.client, workflowId);
        ctx.say(`${workflowId}: ${s.status}${s.progress ? `, stage ${s.progress.stage}` : ''}${s.progress?.metrics ? `, hr@20 ${s.progress.metrics['hr@20']?.toFixed(4)}` : ''}`);
        for (const a of s.activities) ctx.say(`  running ${a.type} (attempt ${a.attempt}): ${JSON.stringify(a.heartbeat)}`);
        if (s.result) printRun(ctx, s.result);
        ctx.result({ workflowId, ...s });
      } finally {
        await t.close({ stopServer: false });
      }
    });
  pipeline
    .command('cancel')
    .argument('<workflowId>')
    .action(async (workflowId: string, _opts: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const t = await openTemporal(ctx, { worker: false });
      try {
        await t.client.client.workflow.getHandle(workflowId).cancel();
        ctx.say(`cancellation requested for ${workflowId}`);
        ctx.result({ workflowId, cancelRequested: true });
      } finally {
        await t.close({ stopServer: false });
      }
    });
}
