import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  pairedBootstrap,
  SkiffError,
  silentLogger,
  type DatasetSnapshot,
  type GateComparison,
  type Logger,
  type Metrics,
  type ModelRegistry,
  type Recommender,
  type Trainer,
  type TrainOutput,
  type TrainParams,
  BASELINE_KINDS,
  isBaselineKind,
  isNeuralKind,
  type BaselineKind,
} from '@skiff/core';
import { initBackend } from './backend.js';
import { evaluate, evaluateYielding } from './evaluate.js';
import { hasSavedModel } from './neural-artifact.js';
import type { Gru4RecModel } from './neural-model.js';
import { trainGru4Rec } from './neural-trainer.js';
import {
  countedOptions,
  disposeModel,
  isCountedKind,
  loadModelArtifact,
  trainBaseline,
  trainBaselineArtifact,
  trainCounted,
  type BaselineParams,
  type LoadedModel,
} from './model-kinds.js';
import { itemCounts } from './vocabulary.js';

/** `.checkpoint/progress.json`: finished epochs and, with early stopping, the best epoch so far (0-based) and its score. */
interface Progress {
  epochsDone: number;
  bestEpoch?: number;
  bestScore?: number;
  /** The validation curve so far (selection runs), so that a resumed run reports every epoch. */
  curve?: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }>;
}

export interface CreateTfjsTrainerOptions {
  logger?: Logger;
}

async function readSplit(file: string): Promise<string[][]> {
  return (await readSplitFile(file)).sessions;
}

/** A split file: sessions and, when recorded, the time (ms) of each session's last event. */
/** A split file's sessions with their last event times in seconds (the kNN kinds' recency unit). */
async function readSplitFile(file: string): Promise<{ sessions: string[][]; lastTimes?: number[] }> {
  let raw: { sessions?: unknown; endedAt?: unknown };
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as typeof raw;
  } catch (e) {
    throw new SkiffError('BAD_INPUT', `cannot read split ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw.sessions)) throw new SkiffError('BAD_INPUT', `split ${file} has no sessions array`);
  const sessions = raw.sessions as string[][];
  const ends =
    Array.isArray(raw.endedAt) && raw.endedAt.length === sessions.length
      ? (raw.endedAt as string[]).map((t) => Date.parse(t) / 1000)
      : undefined;
  return { sessions, ...(ends && ends.every(Number.isFinite) ? { lastTimes: ends } : {}) };
}

/**
 * The refit training set: train then validation (validation sessions all end later), with last
 * event times when both splits recorded them.
 */
async function readRefitSet(snapshot: DatasetSnapshot): Promise<{ sessions: string[][]; lastTimes?: number[] }> {
  const train = await readSplitFile(snapshot.files.train);
  const validation = await readSplitFile(snapshot.files.validation).catch(
    () => ({ sessions: [] as string[][] }) as { sessions: string[][]; lastTimes?: number[] },
  );
  const sessions = [...train.sessions, ...validation.sessions];
  const lastTimes =
    train.lastTimes && (validation.lastTimes || validation.sessions.length === 0)
      ? [...train.lastTimes, ...(validation.lastTimes ?? [])]
      : undefined;
  return { sessions, ...(lastTimes ? { lastTimes } : {}) };
}

/**
 * Loads a registered artifact folder as a recommender (used by serving), dispatching on the
 * `kind` of its config.json: gru4rec (also when kind is missing), sasrec, pop, sr, vsknn, stan, vstan, hybrid.
 */
export async function loadRecommender(dir: string): Promise<LoadedModel> {
  return loadModelArtifact(dir);
}

/**
 * The Trainer port on TensorFlow.js. Trains on the train split — GRU4Rec or (params.model
 * 'sasrec') the SASRec-style model, or with `params.model` 'pop' | 'sr' | 'vsknn' | 'stan' | 'vstan' that baseline, or 'hybrid' a score fusion of baselines (JSON artifacts, no tfjs) — and evaluates any artifact kind
 * on the test split next to POP and SR trained on the same train split.
 */
export function createTfjsTrainer(options: CreateTfjsTrainerOptions = {}): Trainer {
  const { logger = silentLogger } = options;
  return {
    async train({ snapshot, params, outDir, initialEpoch, onProgress, signal, selectOnly }) {
      // core's TrainParams enum may not list every kind yet: compare as a string.
      const kind: string = params.model;
      if (isCountedKind(kind)) {
        // One pass of milliseconds to seconds: the signal is checked before it and after the first
        // progress callback (where a Temporal cancellation arrives), not inside it.
        const stopIfCancelled = () => {
          if (signal?.aborted) throw new SkiffError('TRAINING_FAILED', 'training cancelled', { retryable: false });
        };
        stopIfCancelled();
        if (selectOnly) {
          // As one candidate of several: fitted on train alone and scored on validation.
          const started = performance.now();
          const [train, validation] = await Promise.all([
            readSplitFile(snapshot.files.train),
            readSplit(snapshot.files.validation).catch(() => [] as string[][]),
          ]);
          if (validation.length === 0) throw noValidation();
          await onProgress?.({ stage: 'train', epoch: 0, epochs: 1 });
          const model = trainCounted(kind, train.sessions, {
            ...countedOptions(params as TrainParams & BaselineParams),
            ...(train.lastTimes ? { lastTimes: train.lastTimes } : {}),
          });
          stopIfCancelled();
          // A kNN ranks prefix by prefix: over a large validation split this takes long, so it
          // reports (the activity's heartbeat) and yields after every batch, and stops when cancelled.
          const v = (
            await evaluateYielding(model, validation, {
              ks: [20],
              trainItemCounts: itemCounts(train.sessions),
              onBatch: ({ batch, batches }) => onProgress?.({ stage: 'validate', epoch: 0, epochs: 1, batch, batches }),
              ...(signal ? { signal } : {}),
            }).catch((e: unknown) => {
              stopIfCancelled();
              throw e;
            })
          ).metrics;
          const point = { epoch: 1, 'hr@20': v['hr@20'] ?? 0, 'mrr@20': v['mrr@20'] ?? 0 };
          await onProgress?.({
            stage: 'validate',
            epoch: 1,
            epochs: 1,
            valHr20: point['hr@20'],
            valMrr20: point['mrr@20'],
          });
          const trainSeconds = (performance.now() - started) / 1000;
          return {
            artifactDir: outDir,
            files: [],
            backend: 'js',
            epochs: 1,
            losses: [],
            validation: [point],
            samplesPerSecond: 0,
            trainSeconds,
            selection: {
              epochsRun: 1,
              chosenEpochs: 1,
              stoppedEarly: false,
              losses: [],
              validation: [point],
              trainSessions: train.sessions.length,
              validationSessions: validation.length,
            },
          };
        }
        // Nothing to select: fitted on train + validation, the same data a neural model is refitted on.
        const refit = await readRefitSet(snapshot);
        await onProgress?.({ stage: 'train', epoch: 0, epochs: 1 });
        stopIfCancelled();
        const out = await trainBaselineArtifact(
          kind,
          refit.sessions,
          params as TrainParams & BaselineParams,
          outDir,
          refit.lastTimes,
        );
        await onProgress?.({ stage: 'train', epoch: 1, epochs: 1 });
        logger.info('baseline trained', { model: kind, trainSeconds: Number(out.trainSeconds.toFixed(3)) });
        return out;
      }
      if (!isNeuralKind(kind))
        throw new SkiffError(
          'BAD_INPUT',
          `unknown model "${kind}" (expected gru4rec, sasrec, pop, sr, vsknn, stan, vstan or hybrid)`,
          { retryable: false },
        );
      const train = await readSplit(snapshot.files.train);
      const validation = await readSplit(snapshot.files.validation).catch(() => [] as string[][]);
      const started = Date.now();
      // Select, then refit. With early stopping (params.patience > 0) and a validation split, the
      // number of epochs is chosen on validation (HR@20 + MRR@20 after every epoch, training on train
      // only; the test split is never looked at); then the model is trained afresh on train +
      // validation for exactly that many epochs, and that refit model is the artifact. Without
      // early stopping the epoch count is the configured one and only the refit runs.
      const selectDir = path.join(outDir, '.select');
      const selectionFile = path.join(selectDir, 'selection.json');
      let selection: NonNullable<TrainOutput['selection']> | undefined;
      if (selectOnly && validation.length === 0) throw noValidation();
      // As one candidate of several (selectOnly), every epoch is scored on validation even without
      // early stopping: the candidates are compared on that curve.
      if (validation.length > 0 && (selectOnly || (params.patience ?? 0) > 0)) {
        // The folder is named by the workflow, which a later run may reuse: a saved selection counts
        // only for the same snapshot and params, else it is redone.
        const selectionKey = JSON.stringify({ snapshotId: snapshot.snapshotId, params });
        selection = await readFile(selectionFile, 'utf8').then(
          (t) => {
            const saved = JSON.parse(t) as { key?: string; selection?: NonNullable<TrainOutput['selection']> };
            return saved.key === selectionKey ? saved.selection : undefined;
          },
          () => undefined,
        );
        if (selection)
          logger.info('selection already done by an earlier attempt', { chosenEpochs: selection.chosenEpochs });
        else {
          const curve: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }> = [];
          const counts = itemCounts(train);
          const r = await runEpochs({
            train,
            params,
            workDir: selectDir,
            phase: 'select',
            curve,
            validate: (m) => evaluate(m, validation, { ks: [20], trainItemCounts: counts }).metrics,
          });
          r.model.dispose();
          const t = r.model.training!;
          const chosenEpochs = t.bestEpoch !== undefined ? t.bestEpoch + 1 : r.epochs;
          selection = {
            epochsRun: r.epochs,
            chosenEpochs,
            stoppedEarly: Boolean(t.stoppedEarly),
            losses: t.losses,
            validation: curve,
            trainSessions: train.length,
            validationSessions: validation.length,
          };
          await writeFile(selectionFile, JSON.stringify({ key: selectionKey, selection }));
          logger.info('epochs chosen on validation', {
            chosenEpochs,
            epochsRun: r.epochs,
            stoppedEarly: selection.stoppedEarly,
          });
        }
      }
      if (selectOnly && selection) {
        await rm(path.join(selectDir, '.checkpoint'), { recursive: true, force: true });
        return {
          artifactDir: outDir,
          files: [],
          backend: (await initBackend()).backend,
          epochs: selection.epochsRun,
          losses: selection.losses,
          validation: selection.validation,
          samplesPerSecond: 0,
          trainSeconds: (Date.now() - started) / 1000,
          selection,
        };
      }
      const refitParams: TrainParams = { ...params, epochs: selection?.chosenEpochs ?? params.epochs, patience: 0 };
      const r = await runEpochs({
        train: [...train, ...validation],
        params: refitParams,
        workDir: outDir,
        phase: 'refit',
      });
      const files = await r.model.save(outDir);
      r.model.dispose();
      await rm(path.join(outDir, '.checkpoint'), { recursive: true, force: true });
      await rm(selectDir, { recursive: true, force: true });
      const t = r.model.training!;
      return {
        artifactDir: outDir,
        files,
        backend: r.model.config.backend,
        epochs: r.epochs,
        losses: t.losses,
        validation: selection?.validation ?? [],
        samplesPerSecond: t.samplesPerSecond,
        trainSeconds: (Date.now() - started) / 1000,
        resumedFromEpoch: r.resumedFromEpoch,
        ...(selection ? { selection } : {}),
      };

      /**
       * One training run with checkpoints in `workDir/.checkpoint`: a retry resumes after the last
       * checkpointed epoch (the checkpoint records its own epoch count, so even a heartbeat lost to
       * throttling redoes at most the interrupted epoch).
       */
      async function runEpochs(o: {
        train: string[][];
        params: TrainParams;
        workDir: string;
        phase: 'select' | 'refit';
        validate?: (m: Gru4RecModel) => Record<string, number>;
        curve?: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }>;
      }): Promise<{ model: Gru4RecModel; epochs: number; resumedFromEpoch: number }> {
        const checkpointDir = path.join(o.workDir, '.checkpoint');
        const bestCheckpointDir = path.join(checkpointDir, 'best');
        const progressFile = path.join(checkpointDir, 'progress.json');
        const progress: Progress = (await hasSavedModel(checkpointDir))
          ? await readFile(progressFile, 'utf8').then(
              (x) => JSON.parse(x) as Progress,
              () => ({ epochsDone: 0 }),
            )
          : { epochsDone: 0 };
        const resumeAt = progress.epochsDone;
        if (o.curve && progress.curve) o.curve.push(...progress.curve.filter((c) => c.epoch <= resumeAt));
        const resume = resumeAt > 0;
        if (resume)
          logger.info('resuming from checkpoint', {
            phase: o.phase,
            epochsDone: resumeAt,
            heartbeatEpoch: initialEpoch ?? null,
          });
        const epochs = o.params.epochs;
        const model = await trainGru4Rec({
          train: o.train,
          params: o.params,
          checkpointDir,
          ...(resume ? { initialEpoch: resumeAt, initialWeightsDir: checkpointDir } : {}),
          ...(resume && progress.bestEpoch !== undefined && progress.bestScore !== undefined
            ? { resumeEarlyStopping: { bestEpoch: progress.bestEpoch, bestScore: progress.bestScore } }
            : {}),
          ...(signal ? { signal } : {}),
          ...(o.validate
            ? {
                bestCheckpointDir,
                validate: async (m: Gru4RecModel, epoch: number) => {
                  const v = o.validate!(m);
                  const hr = v['hr@20'] ?? 0;
                  const mrr = v['mrr@20'] ?? 0;
                  o.curve?.push({ epoch: epoch + 1, 'hr@20': hr, 'mrr@20': mrr });
                  await onProgress?.({ stage: 'validate', epoch: epoch + 1, epochs, valHr20: hr, valMrr20: mrr });
                  return hr + mrr;
                },
              }
            : {}),
          onBatchEnd: (b) =>
            onProgress?.({
              stage: o.phase === 'select' ? 'train' : 'refit',
              epoch: b.epoch,
              epochs,
              batch: b.batch,
              batches: b.batches,
            }),
          onEpochEnd: async (e) => {
            // trainGru4Rec saved the checkpoint (and the best weights) just before calling this.
            const next: Progress = {
              epochsDone: e.epoch + 1,
              ...(o.curve ? { curve: o.curve } : {}),
              ...(e.bestEpoch !== undefined && e.bestScore !== undefined
                ? { bestEpoch: e.bestEpoch, bestScore: e.bestScore }
                : {}),
            };
            await writeFile(progressFile, JSON.stringify(next));
            logger.info('epoch finished', {
              phase: o.phase,
              epoch: e.epoch + 1,
              epochs,
              loss: Number(e.loss.toFixed(4)),
              samplesPerSecond: Math.round(e.samplesPerSecond),
              ...(e.stop ? { earlyStop: true, bestEpoch: (e.bestEpoch ?? 0) + 1 } : {}),
            });
            // Heartbeat the number of finished epochs: the epoch a retry resumes at.
            await onProgress?.({
              stage: o.phase === 'select' ? 'train' : 'refit',
              epoch: e.epoch + 1,
              epochs,
              loss: e.loss,
            });
          },
        });
        return { model, epochs: resumeAt + model.training!.losses.length, resumedFromEpoch: resumeAt };
      }
    },

    async evaluate({
      snapshot,
      artifactDir,
      ks = [10, 20],
      baselines = ['pop', 'sr'],
      baselineDir,
      champion,
      gate,
      minPredictions,
      onProgress,
    }) {
      // The test split is judged against the refit training set (train + validation): its items
      // are the known items, and the baselines are fitted on it, as the candidate was.
      const [refit, test] = await Promise.all([readRefitSet(snapshot), readSplit(snapshot.files.test)]);
      const counts = itemCounts(refit.sessions);
      for (const b of baselines)
        if (!isBaselineKind(b))
          throw new SkiffError('BAD_INPUT', `unknown baseline "${b}" (expected ${BASELINE_KINDS.join(', ')})`, {
            retryable: false,
          });
      const opts = { ks, trainItemCounts: counts, ...(gate ? { perPoint: gate.metric } : {}) };
      const values: Record<string, Float64Array> = {};
      const run = async (name: string, model: LoadedModel) => {
        // Reported before each model and after every batch of prediction points (the activity's
        // heartbeat): a kNN over a large test split scores for minutes.
        await onProgress?.({ stage: `evaluate ${name}` });
        try {
          const r = await evaluateYielding(model, test, {
            ...opts,
            onBatch: ({ batch, batches }) => onProgress?.({ stage: `evaluate ${name}`, batch, batches }),
          });
          if (minPredictions !== undefined && r.predictions < minPredictions)
            throw new SkiffError(
              'DATA_QUALITY_FAILED',
              `test split has ${r.predictions} prediction points (minimum ${minPredictions}); no metric is reported on fewer`,
              { retryable: false },
            );
          if (r.values) values[name] = r.values;
          return r;
        } finally {
          disposeModel(model);
        }
      };
      const ours = await run('candidate', await loadModelArtifact(artifactDir));
      const baselineMetrics: Record<string, Metrics> = {};
      const baselineArtifacts: Record<string, string> = {};
      for (const b of baselines as BaselineKind[]) {
        const model = trainBaseline(b, refit.sessions, refit.lastTimes ? { lastTimes: refit.lastTimes } : {});
        if (baselineDir) {
          const dir = path.join(baselineDir, b);
          await model.save(dir);
          baselineArtifacts[b] = dir;
        }
        baselineMetrics[b] = (await run(b, model)).metrics;
      }
      let comparison: GateComparison | undefined;
      if (gate) {
        const models: GateComparison['models'] = {
          candidate: { role: 'candidate', value: ours.metrics[gate.metric] ?? 0 },
        };
        for (const b of baselines) models[b] = { role: 'baseline', value: baselineMetrics[b]?.[gate.metric] ?? 0 };
        if (champion) {
          const c = await run('champion', await loadModelArtifact(champion.artifactDir));
          models['champion'] = { role: 'champion', value: c.metrics[gate.metric] ?? 0, version: champion.version };
        }
        const boot = pairedBootstrap(values, gate);
        const names = Object.keys(models);
        const pairs = names
          .filter((a) => models[a]!.role !== 'champion')
          .flatMap((a) =>
            names
              .filter((b) => b !== a)
              .map((b) => {
                const d = boot.diff(a, b);
                return { a, b, diff: d.diff, lo: d.lo, hi: d.hi };
              }),
          );
        comparison = {
          metric: gate.metric,
          confidence: gate.confidence,
          resamples: gate.resamples,
          seed: gate.seed,
          predictions: ours.predictions,
          models,
          pairs,
        };
      }
      return {
        metrics: ours.metrics,
        baselines: baselineMetrics,
        predictions: ours.predictions,
        ...(baselineDir ? { baselineArtifacts } : {}),
        ...(comparison ? { comparison } : {}),
      };
    },
  };
}

/**
 * The model an alias points to, loaded (hash-verified by the registry) for one job such as a
 * monitoring run; null when the alias is unset. Call dispose() when done.
 */
export async function loadAliasRecommender(
  registry: ModelRegistry,
  alias = 'production',
): Promise<{ recommender: Recommender; version: string; dispose: () => void } | null> {
  const target = (await registry.aliases())[alias];
  if (!target) return null;
  const { dir, manifest } = await registry.get(target);
  const model = await loadModelArtifact(dir);
  return { recommender: model, version: manifest.version, dispose: () => disposeModel(model) };
}

function noValidation(): SkiffError {
  return new SkiffError('BAD_INPUT', 'candidate selection needs a validation split, and this snapshot has none', {
    retryable: false,
  });
}
