import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SkiffError, TrainParamsSchema, type DatasetSnapshot, type ModelManifest, type PipelineParams, type TrainParams } from '@skiff/core';
import path from 'node:path';
import { createLogger, taskQueues } from '@skiff/config';
import { createDuckDbWarehouse, verifySnapshotDir } from '@skiff/ingest';
import { startTraining, trainingStatus, trainingWorkflowId } from '@skiff/orchestrator-temporal';
import { createPipelineActivities, runTrainingPipeline, type PipelineRunResult } from '@skiff/pipeline';
import { buildPipelineDeps } from '@skiff/worker';
import { createContext, type Context, type GlobalOptions } from '../context.js';
import { createTrainingProgress, progressWanted, showTrainingStatus, waitPolling, type TrainingProgressView } from '../progress.js';
import { openTemporal } from '../temporal-session.js';

export const DEFAULT_TRAIN_CONFIG = fileURLToPath(new URL('../../configs/gru4rec.json', import.meta.url));

export async function readTrainParams(file: string | undefined, overrides: Partial<TrainParams> = {}): Promise<TrainParams> {
  const raw = JSON.parse(await readFile(file ?? DEFAULT_TRAIN_CONFIG, 'utf8')) as unknown;
  const parsed = TrainParamsSchema.safeParse({ ...(raw as object), ...overrides });
  if (!parsed.success) throw new SkiffError('CONFIG_INVALID', `invalid training config ${file ?? DEFAULT_TRAIN_CONFIG}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
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

/**
 * Runs the pipeline through Temporal (default) or inline (same sequence, same stage functions).
 * With `progress`, stages and training progress are shown: inline from the stage callback and
 * the trainer's onProgress; through Temporal by polling the workflow's progress query and the
 * train activity's heartbeat details every second.
 */
export async function runPipeline(ctx: Context, params: PipelineParams, options: { inline: boolean; workflowId?: string; progress?: TrainingProgressView }): Promise<PipelineRunResult> {
  const view = options.progress;
  if (options.inline) {
    // No Temporal to join a run of the same minute: each inline run gets its own id, so that it
    // trains into its own artifact folder and registers its own version (register is idempotent
    // per workflow id and run id, and would otherwise return an earlier inline run's version).
    const workflowId = options.workflowId ?? `${trainingWorkflowId(path.basename(ctx.config.dataDir), new Date())}-inline-${randomUUID().slice(0, 8)}`;
    const acts = createPipelineActivities(buildPipelineDeps(ctx.config, ctx.logger.child({ runId: workflowId })), view ? { progress: (p) => view.update(p) } : {});
    return runTrainingPipeline(acts, params, { workflowId, runId: 'inline', ...(view ? { onStage: (stage) => view.stage(stage) } : {}) });
  }
  const workflowId = options.workflowId ?? trainingWorkflowId(path.basename(ctx.config.dataDir), new Date());
  const t = await openTemporal(ctx, { worker: true });
  try {
    if (t.server.uiUrl) ctx.say(`Temporal UI: ${t.server.uiUrl}/namespaces/${ctx.config.temporalNamespace}/workflows/${workflowId}`);
    const { handle, joined } = await startTraining(t.client.client, { ...params, queues: taskQueues(ctx.config) }, { workflowId, taskQueue: ctx.config.taskQueue });
    if (joined) ctx.say(`  ${workflowId} already ran: returning its result instead of starting it again`);
    if (!view) return await handle.result();
    return await waitPolling(handle.result(), async () => showTrainingStatus(view, await trainingStatus(t.client.client, workflowId)));
  } finally {
    await t.close();
  }
}

/**
 * Runs `fn` with a training progress bar on stderr when wanted (`--progress` / `--no-progress`,
 * default: stderr is a terminal). Meanwhile log lines and stdout lines clear the bar first, so
 * that they are not glued to it; the bar is stopped (its line ended) whatever happens.
 */
export async function withTrainingProgress<T>(ctx: Context, flag: boolean | undefined, batchSize: number | undefined, fn: (view: TrainingProgressView | undefined) => Promise<T>): Promise<T> {
  if (!progressWanted(flag, process.stderr)) return fn(undefined);
  const view = createTrainingProgress({ stream: process.stderr, ...(batchSize ? { batchSize } : {}) });
  const { logger, say } = ctx;
  ctx.logger = createLogger({ level: ctx.config.logLevel, base: { app: 'skiff' }, destination: view.logStream() as NodeJS.WritableStream });
  ctx.say = (line) => {
    view.clear();
    say(line);
  };
  try {
    return await fn(view);
  } finally {
    view.stop();
    ctx.logger = logger;
    ctx.say = say;
  }
}

/** Where the snapshot a reproduction trains on came from. */
export interface ReproductionSnapshot {
  snapshot: DatasetSnapshot;
  /** `folder`: the stored snapshot folder, re-hashed; `rebuilt`: rebuilt from the recorded loads. */
  source: 'folder' | 'rebuilt';
  recordedId: string;
  /** The id its files hash to (folder) or the rebuilt snapshot's id. */
  computedId: string;
  /** `computedId` is the recorded id. */
  matches: boolean;
}

/**
 * The dataset snapshot a version was trained on: its stored folder when it is still there (its id
 * recomputed from the files), else rebuilt from the warehouse over the version's recorded
 * `lineage.loadIds` only. A mismatch with the recorded `lineage.snapshotId` is refused unless `force`.
 */
export async function reproductionSnapshot(ctx: Context, manifest: ModelManifest, options: { force: boolean }): Promise<ReproductionSnapshot> {
  const { snapshotId: recordedId, loadIds } = manifest.lineage;
  const dir = path.join(ctx.paths.snapshots, recordedId);
  if (await stat(dir).then(() => true, () => false)) {
    const v = await verifySnapshotDir(dir);
    if (!v.ok) {
      const what = `snapshot folder ${dir} of ${manifest.version} does not match its id: its files hash to ${v.computedId}, not ${recordedId}`;
      if (!options.force) throw new SkiffError('BAD_INPUT', `${what}. Delete the folder to rebuild it from loads ${loadIds.join(', ')}, or pass --force to train on it as it is`);
      ctx.say(`WARNING: ${what}; training on it anyway (--force)`);
    }
    // The recorded paths may be those of another machine or data dir: use this folder's files.
    const snapshot: DatasetSnapshot = { ...v.snapshot, dir, files: { train: path.join(dir, 'train.json'), validation: path.join(dir, 'validation.json'), test: path.join(dir, 'test.json') } };
    return { snapshot, source: 'folder', recordedId, computedId: v.computedId, matches: v.ok };
  }
  if (loadIds.length === 0) throw new SkiffError('BAD_INPUT', `snapshot ${recordedId} of ${manifest.version} is gone (${dir}) and its manifest records no loads to rebuild it from`);
  if (!(await stat(ctx.paths.warehouse).then(() => true, () => false)))
    throw new SkiffError('BAD_INPUT', `snapshot ${recordedId} of ${manifest.version} is gone (${dir}) and there is no warehouse at ${ctx.paths.warehouse} to rebuild it from loads ${loadIds.join(', ')}`);
  ctx.say(`snapshot ${recordedId} is gone: rebuilding it from loads ${loadIds.join(', ')}`);
  const wh = await createDuckDbWarehouse({ path: ctx.paths.warehouse, logger: ctx.logger });
  let snapshot: DatasetSnapshot;
  try {
    snapshot = await wh.snapshotFromLoads(loadIds, ctx.paths.snapshots);
  } finally {
    await wh.close();
  }
  const matches = snapshot.snapshotId === recordedId;
  if (!matches) {
    const what = `the snapshot rebuilt from loads ${loadIds.join(', ')} is ${snapshot.snapshotId}, not the recorded ${recordedId} of ${manifest.version} (raw rows or transform SQL changed since)`;
    if (!options.force) throw new SkiffError('BAD_INPUT', `${what}; pass --force to train on ${snapshot.dir} anyway`);
    ctx.say(`WARNING: ${what}; training on it anyway (--force)`);
  }
  return { snapshot, source: 'rebuilt', recordedId, computedId: snapshot.snapshotId, matches };
}

/** The training params a manifest recorded: core's TrainParams plus the baselines' own settings. */
function recordedTrainParams(manifest: ModelManifest): TrainParams {
  const params = TrainParamsSchema.parse(manifest.params);
  const extra = Object.fromEntries(['sr', 'vsknn', 'stan', 'vstan'].filter((k) => manifest.params[k] !== undefined).map((k) => [k, manifest.params[k]]));
  return { ...params, ...extra };
}

/**
 * Retrains a registered version from what its manifest recorded (the dataset snapshot of its
 * loads, params, seed) and reports each metric next to the original. Nothing is registered.
 */
async function reproduce(ctx: Context, version: string, options: { force: boolean }): Promise<void> {
  const deps = buildPipelineDeps(ctx.config, ctx.logger);
  const { manifest } = await deps.registry.get(version);
  const snap = await reproductionSnapshot(ctx, manifest, options);
  const { snapshot } = snap;
  const params = recordedTrainParams(manifest);
  ctx.say(`reproducing ${manifest.version} (${params.model}, seed ${params.seed}) from ${snapshot.snapshotId} (${snap.source === 'folder' ? 'stored folder, id re-verified' : 'rebuilt from the recorded loads'}), loads ${manifest.lineage.loadIds.join(', ')}`);
  const outDir = path.join(ctx.paths.artifacts, `reproduce-${manifest.version}-${Date.now()}`);
  const out = await deps.trainer.train({ snapshot, params, outDir });
  const ev = await deps.trainer.evaluate({ snapshot, artifactDir: out.artifactDir, ks: [10, 20] });
  const metrics = Object.fromEntries(
    Object.entries(manifest.metrics).map(([k, original]) => {
      const reproduced = ev.metrics[k] ?? NaN;
      return [k, { original, reproduced, diff: reproduced - original }];
    }),
  );
  const diffs = Object.values(metrics).map((m) => Math.abs(m.diff));
  // A metric the reproduction lacks (NaN) is the largest difference there is.
  const maxAbsDiff = diffs.length === 0 ? 0 : diffs.some(Number.isNaN) ? null : Math.max(...diffs);
  for (const [k, m] of Object.entries(metrics)) ctx.say(`  ${k.padEnd(14)} ${m.original.toFixed(4)} → ${m.reproduced.toFixed(4)} (${m.diff >= 0 ? '+' : ''}${m.diff.toFixed(4)})`);
  ctx.say(`backend ${manifest.lineage.backend} → ${out.backend}; largest difference ${maxAbsDiff === null ? 'n/a (a metric is missing)' : maxAbsDiff.toFixed(6)}`);
  ctx.result({
    version: manifest.version,
    snapshotId: snapshot.snapshotId,
    snapshot: { source: snap.source, recordedId: snap.recordedId, computedId: snap.computedId, matches: snap.matches, dir: snapshot.dir },
    backend: { original: manifest.lineage.backend, reproduced: out.backend },
    metrics,
    maxAbsDiff,
    artifactDir: out.artifactDir,
  });
}

export function registerModelCommands(program: Command): void {
  program
    .command('train')
    .description('ingest + transform + validate + train + evaluate + register (+ promote), through Temporal unless --inline')
    .option('--model <model>', 'gru4rec|sasrec|pop|sr|vsknn|stan|vstan (default: the config\'s, gru4rec)')
    .option('--config <file>', 'training config (JSON)')
    .option('--epochs <n>', 'override epochs', (v) => Number(v))
    .option('--inline', 'run the stages in this process instead of through Temporal')
    .option('--progress', 'draw the training progress bar on stderr even when it is not a terminal')
    .option('--no-progress', 'never draw the training progress bar (default: drawn when stderr is a terminal)')
    .option('--reproduce <version>', 'retrain a registered version from its snapshot (verified, or rebuilt from its recorded loads), params and seed, and compare the metrics')
    .option('--force', 'with --reproduce: train even when the snapshot does not match the recorded snapshot id')
    .action(async (opts: { model?: string; config?: string; epochs?: number; inline?: boolean; progress?: boolean; reproduce?: string; force?: boolean }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      if (opts.reproduce) return reproduce(ctx, opts.reproduce, { force: Boolean(opts.force) });
      if (opts.force) throw new SkiffError('BAD_INPUT', '--force only applies to --reproduce');
      const train = await readTrainParams(opts.config, { ...(opts.model !== undefined ? { model: opts.model as TrainParams['model'] } : {}), ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}) });
      const r = await withTrainingProgress(ctx, opts.progress, train.batchSize, (progress) =>
        runPipeline(ctx, { train, promotionMetric: 'hr@20' }, { inline: Boolean(opts.inline), ...(progress ? { progress } : {}) }),
      );
      printRun(ctx, r);
      ctx.result(r);
    });

  const pipeline = program.command('pipeline').description('the training workflow on Temporal');
  pipeline
    .command('run')
    .description('start trainingPipeline on Temporal and wait for it')
    .option('--config <file>', 'training config (JSON)')
    .option('--workflow-id <id>')
    .option('--progress', 'draw the training progress bar on stderr even when it is not a terminal')
    .option('--no-progress', 'never draw the training progress bar (default: drawn when stderr is a terminal)')
    .action(async (opts: { config?: string; workflowId?: string; progress?: boolean }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const train = await readTrainParams(opts.config);
      const r = await withTrainingProgress(ctx, opts.progress, train.batchSize, (progress) =>
        runPipeline(ctx, { train, promotionMetric: 'hr@20' }, { inline: false, ...(opts.workflowId ? { workflowId: opts.workflowId } : {}), ...(progress ? { progress } : {}) }),
      );
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
