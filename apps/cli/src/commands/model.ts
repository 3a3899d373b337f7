import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  SkiffError,
  describeSplitRule,
  describeSplitSizes,
  type Gate,
  type PipelineParams,
  type TrainParams,
} from '@skiff/core';
import path from 'node:path';
import { pipelineSettings, taskQueues } from '@skiff/config';
import { startTraining, trainingStatus, trainingWorkflowId } from '@skiff/orchestrator-temporal';
import {
  createPipelineActivities,
  parseTrainingConfig,
  runTrainingPipeline,
  type PipelineRunResult,
  type TrainingConfig,
} from '@skiff/pipeline';
import { buildPipelineDeps, buildReproduction } from '@skiff/runtime';
import { createContext, openTemporal, type Context, type GlobalOptions } from '../context.js';
import {
  createTrainingProgress,
  progressWanted,
  showTrainingStatus,
  waitPolling,
  type TrainingProgressView,
} from '../progress.js';

/** The training configurations shipped with the CLI (`--config <name>`: `<name>.json` in this folder). */
export const SHIPPED_CONFIGS_DIR = fileURLToPath(new URL('../../configs/', import.meta.url));
export const DEFAULT_TRAIN_CONFIG = path.join(SHIPPED_CONFIGS_DIR, 'gru4rec.json');

/** The names `--config` accepts besides a file path. */
export function shippedConfigNames(): string[] {
  return readdirSync(SHIPPED_CONFIGS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * `--config`: a JSON file, or the name of a shipped configuration (`gru4rec-yoochoose.v1`, the
 * GRU4Rec tuned on the YooChoose sample; see docs/evaluation.md). A file of that name wins.
 */
export function resolveTrainConfig(config: string | undefined): string {
  if (config === undefined) return DEFAULT_TRAIN_CONFIG;
  if (existsSync(config)) return config;
  const shipped = path.join(SHIPPED_CONFIGS_DIR, `${config}.json`);
  if (/^[\w.-]+$/.test(config) && existsSync(shipped)) return shipped;
  throw new SkiffError(
    'CONFIG_INVALID',
    `--config ${config}: no such file, and no shipped configuration of that name (shipped: ${shippedConfigNames().join(', ')})`,
  );
}

/**
 * A training config file: one model's params, or (with `candidates` or `search`) several candidates
 * for model selection. `overrides` (flags) apply to every candidate.
 */
export async function readTrainingConfig(
  config: string | undefined,
  overrides: Partial<TrainParams> = {},
): Promise<TrainingConfig> {
  const source = resolveTrainConfig(config);
  const text = await readFile(source, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new SkiffError('CONFIG_INVALID', `cannot read training config ${source}: ${e.message}`);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SkiffError('CONFIG_INVALID', `training config ${source} is not JSON: ${(e as Error).message}`);
  }
  return parseTrainingConfig(raw, source, overrides);
}

/** The params of a single-model training config (a config with several candidates is refused). */
export async function readTrainParams(
  config: string | undefined,
  overrides: Partial<TrainParams> = {},
): Promise<TrainParams> {
  const parsed = await readTrainingConfig(config, overrides);
  if (parsed.candidates)
    throw new SkiffError(
      'CONFIG_INVALID',
      `training config ${resolveTrainConfig(config)} names ${parsed.candidates.length} candidates; this command trains one model`,
    );
  return parsed.train;
}

/**
 * The deployment's pipeline settings, with the gate settings a training config names (e.g. the
 * baselines its model claims to beat) in place of the deployment's for this run.
 */
export function settingsWith(
  config: Parameters<typeof pipelineSettings>[0],
  gate: Partial<Gate> | undefined,
): ReturnType<typeof pipelineSettings> {
  const settings = pipelineSettings(config);
  return gate ? { ...settings, gate: { ...settings.gate, ...gate } } : settings;
}

export function printRun(ctx: Context, r: PipelineRunResult): void {
  const f = (v: number | undefined) => (v === undefined ? '   -  ' : v.toFixed(4));
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
  ctx.say(`model ${r.modelVersion} (${r.backend}), snapshot ${r.snapshotId}, workflow ${r.workflowId}`);
  if (r.split) ctx.say(`split ${describeSplitRule(r.split.rule)}: ${describeSplitSizes(r.split)}`);
  if (r.candidates) {
    ctx.say(
      `candidates (trained on train, scored on validation; chosen: ${r.candidates.chosen}, refit on train + validation):`,
    );
    const width = Math.max(12, ...r.candidates.candidates.map((c) => c.name.length + 1));
    for (const c of r.candidates.candidates) ctx.say(`  ${candidateLine(c, width)}`);
  }
  if (r.selection)
    ctx.say(
      `epochs chosen on validation: ${r.selection.chosenEpochs} (of ${r.selection.epochsRun} run${r.selection.stoppedEarly ? ', stopped early' : ''}); refit on train + validation`,
    );
  const cmp = r.comparison;
  const checks = new Map((r.decision?.checks ?? []).map((c) => [c.against, c]));
  const interval = (name: string) => {
    const c = checks.get(name);
    return c
      ? `  ${r.decision!.contender} − ${name}: ${signed(c.diff)} [${Math.round(r.decision!.confidence * 1000) / 10}% CI ${signed(c.lo)}, ${signed(c.hi)}]`
      : '';
  };
  ctx.say(
    `  test: ${r.predictions ?? '?'} predictions${cmp ? `; gate on ${cmp.metric}, policy ${r.decision?.policy}` : ''}`,
  );
  ctx.say(`                      HR@20    MRR@20   HR@10    NDCG@20`);
  ctx.say(
    `  candidate           ${f(r.metrics['hr@20'])}   ${f(r.metrics['mrr@20'])}   ${f(r.metrics['hr@10'])}   ${f(r.metrics['ndcg@20'])}${interval('candidate')}`,
  );
  for (const [name, m] of Object.entries(r.baselines))
    ctx.say(
      `  baseline ${name.toUpperCase().padEnd(10)} ${f(m['hr@20'])}   ${f(m['mrr@20'])}   ${f(m['hr@10'])}   ${f(m['ndcg@20'])}${interval(name)}`,
    );
  const champion = cmp?.models['champion'];
  if (champion && cmp)
    ctx.say(
      `  champion ${(champion.version ?? '').padEnd(10)} ${cmp.metric} ${f(champion.value)}${' '.repeat(19)}${interval('champion')}`,
    );
  ctx.say(`  ${r.decision ? '' : r.promoted ? 'promoted to production: ' : 'not promoted: '}${r.promotionReason}`);
}

/**
 * One candidate of a model selection on one line: name (padded to `width`, so that the candidates of
 * a run line up), distinguishing params, state and validation scores.
 */
export function candidateLine(
  c: {
    name: string;
    params: Record<string, unknown>;
    state?: string;
    'val_hr@20'?: number;
    'val_mrr@20'?: number;
    validation?: { 'hr@20': number; 'mrr@20': number };
    chosenEpochs?: number;
    trainSeconds?: number;
  },
  width = 12,
): string {
  const hr = c.validation?.['hr@20'] ?? c['val_hr@20'];
  const mrr = c.validation?.['mrr@20'] ?? c['val_mrr@20'];
  const params = Object.entries(c.params)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return [
    c.name.padEnd(width),
    c.state ? c.state.padEnd(8) : '',
    hr !== undefined ? `val HR@20 ${hr.toFixed(4)}  MRR@20 ${(mrr ?? 0).toFixed(4)}` : '',
    c.chosenEpochs !== undefined ? `epochs ${c.chosenEpochs}` : '',
    c.trainSeconds !== undefined ? `${c.trainSeconds.toFixed(1)} s` : '',
    params,
  ]
    .filter(Boolean)
    .join('  ');
}

/**
 * Runs the pipeline through Temporal (default) or inline (same sequence, same stage functions).
 * With `progress`, stages and training progress are shown: inline from the stage callback and
 * the trainer's onProgress; through Temporal by polling the workflow's progress query and the
 * train activity's heartbeat details every second.
 */
export async function runPipeline(
  ctx: Context,
  params: PipelineParams,
  options: { inline: boolean; workflowId?: string; progress?: TrainingProgressView },
): Promise<PipelineRunResult> {
  const view = options.progress;
  if (options.inline) {
    // No Temporal to join a run of the same minute: each inline run gets its own id, so that it
    // trains into its own artifact folder and registers its own version (register is idempotent
    // per workflow id and run id, and would otherwise return an earlier inline run's version).
    const workflowId =
      options.workflowId ??
      `${trainingWorkflowId(path.basename(ctx.config.dataDir), new Date())}-inline-${randomUUID().slice(0, 8)}`;
    const acts = createPipelineActivities(
      buildPipelineDeps(ctx.config, ctx.logger.child({ runId: workflowId })),
      view ? { progress: (p) => view.update(p) } : {},
    );
    return runTrainingPipeline(acts, params, {
      workflowId,
      runId: 'inline',
      ...(view
        ? {
            onStage: (stage, info) => {
              view.stage(stage);
              if (info.candidates) view.candidates(info.candidates);
            },
          }
        : {}),
    });
  }
  const workflowId = options.workflowId ?? trainingWorkflowId(path.basename(ctx.config.dataDir), new Date());
  const t = await openTemporal(ctx, { worker: true });
  try {
    if (t.server.uiUrl)
      ctx.say(`Temporal UI: ${t.server.uiUrl}/namespaces/${ctx.config.temporalNamespace}/workflows/${workflowId}`);
    const { handle, joined } = await startTraining(
      t.client.client,
      { ...params, queues: taskQueues(ctx.config) },
      { workflowId, taskQueue: ctx.config.taskQueue },
    );
    if (joined) ctx.say(`  ${workflowId} already ran: returning its result instead of starting it again`);
    if (!view) return await handle.result();
    return await waitPolling(handle.result(), async () =>
      showTrainingStatus(view, await trainingStatus(t.client.client, workflowId)),
    );
  } finally {
    await t.close();
  }
}

/**
 * Runs `fn` with a training progress bar on stderr when wanted (`--progress` / `--no-progress`,
 * default: stderr is a terminal). Meanwhile log lines and stdout lines clear the bar first, so
 * that they are not glued to it; the bar is stopped (its line ended) whatever happens.
 */
export async function withTrainingProgress<T>(
  ctx: Context,
  flag: boolean | undefined,
  batchSize: number | undefined,
  fn: (view: TrainingProgressView | undefined) => Promise<T>,
): Promise<T> {
  if (!progressWanted(flag, process.stderr)) return fn(undefined);
  const view = createTrainingProgress({ stream: process.stderr, ...(batchSize ? { batchSize } : {}) });
  const { logger, say } = ctx;
  ctx.logger = ctx.loggerFor(view.logStream());
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

/**
 * Retrains a registered version from what its manifest recorded (the dataset snapshot of its
 * loads, params, seed) and reports each metric next to the original. Nothing is registered.
 */
async function reproduce(ctx: Context, version: string, options: { force: boolean }): Promise<void> {
  const r = await buildReproduction(ctx.config, ctx.logger, (line) => ctx.say(line)).reproduce({
    version,
    force: options.force,
  });
  for (const [k, m] of Object.entries(r.metrics))
    ctx.say(
      `  ${k.padEnd(14)} ${m.original.toFixed(4)} → ${m.reproduced.toFixed(4)} (${m.diff >= 0 ? '+' : ''}${m.diff.toFixed(4)})`,
    );
  ctx.say(
    `backend ${r.backend.original} → ${r.backend.reproduced}; largest difference ${r.maxAbsDiff === null ? 'n/a (a metric is missing)' : r.maxAbsDiff.toFixed(6)}`,
  );
  ctx.result(r);
}

export function registerModelCommands(program: Command): void {
  program
    .command('train')
    .description(
      'ingest + transform + validate + train + evaluate + register (+ promote), through Temporal unless --inline',
    )
    .option('--model <model>', "gru4rec|sasrec|pop|sr|vsknn|stan|vstan|hybrid (default: the config's, gru4rec)")
    .option(
      '--config <file|name>',
      `training config: a JSON file, or a shipped one by name (${shippedConfigNames().join(', ')})`,
    )
    .option('--epochs <n>', 'override epochs', (v) => Number(v))
    .option('--inline', 'run the stages in this process instead of through Temporal')
    .option('--progress', 'draw the training progress bar on stderr even when it is not a terminal')
    .option('--no-progress', 'never draw the training progress bar (default: drawn when stderr is a terminal)')
    .option(
      '--reproduce <version>',
      'retrain a registered version from its snapshot (verified, or rebuilt from its recorded loads), params and seed, and compare the metrics',
    )
    .option('--force', 'with --reproduce: train even when the snapshot does not match the recorded snapshot id')
    .action(
      async (
        opts: {
          model?: string;
          config?: string;
          epochs?: number;
          inline?: boolean;
          progress?: boolean;
          reproduce?: string;
          force?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
        if (opts.reproduce) return reproduce(ctx, opts.reproduce, { force: Boolean(opts.force) });
        if (opts.force) throw new SkiffError('BAD_INPUT', '--force only applies to --reproduce');
        const { train, candidates, gate } = await readTrainingConfig(opts.config, {
          ...(opts.model !== undefined ? { model: opts.model as TrainParams['model'] } : {}),
          ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
        });
        const r = await withTrainingProgress(ctx, opts.progress, train.batchSize, (progress) =>
          runPipeline(
            ctx,
            { train, ...(candidates ? { candidates } : {}), ...settingsWith(ctx.config, gate) },
            { inline: Boolean(opts.inline), ...(progress ? { progress } : {}) },
          ),
        );
        printRun(ctx, r);
        ctx.result(r);
      },
    );

  const pipeline = program.command('pipeline').description('the training workflow on Temporal');
  pipeline
    .command('run')
    .description('start trainingPipeline on Temporal and wait for it')
    .option('--config <file|name>', 'training config: a JSON file, or a shipped one by name (see skiff train --help)')
    .option('--workflow-id <id>')
    .option('--progress', 'draw the training progress bar on stderr even when it is not a terminal')
    .option('--no-progress', 'never draw the training progress bar (default: drawn when stderr is a terminal)')
    .action(async (opts: { config?: string; workflowId?: string; progress?: boolean }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const { train, candidates, gate } = await readTrainingConfig(opts.config);
      const r = await withTrainingProgress(ctx, opts.progress, train.batchSize, (progress) =>
        runPipeline(
          ctx,
          { train, ...(candidates ? { candidates } : {}), ...settingsWith(ctx.config, gate) },
          {
            inline: false,
            ...(opts.workflowId ? { workflowId: opts.workflowId } : {}),
            ...(progress ? { progress } : {}),
          },
        ),
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
        ctx.say(
          `${workflowId}: ${s.status}${s.progress ? `, stage ${s.progress.stage}` : ''}${s.progress?.metrics ? `, hr@20 ${s.progress.metrics['hr@20']?.toFixed(4)}` : ''}`,
        );
        const all = s.progress?.candidates ?? [];
        const width = Math.max(12, ...all.map((c) => c.name.length + 1));
        for (const c of all) ctx.say(`  candidate ${candidateLine(c, width)}`);
        for (const a of s.activities)
          ctx.say(
            `  running ${a.type} (attempt ${a.attempt}${a.worker ? ` on ${a.worker}` : ''}): ${JSON.stringify(a.heartbeat)}`,
          );
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
