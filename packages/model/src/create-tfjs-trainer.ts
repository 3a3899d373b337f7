import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, silentLogger, type DatasetSnapshot, type Logger, type ModelRegistry, type Recommender, type Trainer, type TrainParams } from '@skiff/core';
import { isNeuralKind } from './encoder.js';
import { evaluate } from './evaluate.js';
import { hasSavedModel, trainGru4Rec, type Gru4RecModel } from './gru4rec.js';
import { disposeModel, isBaselineKind, loadModelArtifact, trainBaselineArtifact, type BaselineParams, type LoadedModel } from './model-kinds.js';
import { createPopModel } from './pop.js';
import { readTimedSplit } from './split-times.js';
import { trainSr } from './sr.js';
import { itemCounts } from './vocabulary.js';

/** `.checkpoint/progress.json`: finished epochs and, with early stopping, the best epoch so far (0-based) and its score. */
interface Progress {
  epochsDone: number;
  bestEpoch?: number;
  bestScore?: number;
}

export interface CreateTfjsTrainerOptions {
  logger?: Logger;
}

async function readSplit(file: string): Promise<string[][]> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { sessions: string[][] }).sessions;
  } catch (e) {
    throw new SkiffError('BAD_INPUT', `cannot read split ${file}: ${(e as Error).message}`);
  }
}

/**
 * Loads a registered artifact folder as a recommender (used by serving), dispatching on the
 * `kind` of its config.json: gru4rec (also when kind is missing), sasrec, pop, sr, vsknn, stan, vstan.
 */
export async function loadRecommender(dir: string): Promise<LoadedModel> {
  return loadModelArtifact(dir);
}

/**
 * The Trainer port on TensorFlow.js. Trains on the train split — GRU4Rec or (params.model
 * 'sasrec') the SASRec-style model, or with `params.model` 'pop' | 'sr' | 'vsknn' | 'stan' | 'vstan' that baseline (JSON artifact, no tfjs) — and evaluates any artifact kind
 * on the test split next to POP and SR trained on the same train split.
 */
export function createTfjsTrainer(options: CreateTfjsTrainerOptions = {}): Trainer {
  const { logger = silentLogger } = options;
  return {
    async train({ snapshot, params, outDir, initialEpoch, onProgress, signal }) {
      // core's TrainParams enum may not list every kind yet: compare as a string.
      const kind: string = params.model;
      if (isBaselineKind(kind)) {
        // One pass of milliseconds to seconds: the signal is checked before it and after the first
        // progress callback (where a Temporal cancellation arrives), not inside it.
        const stopIfCancelled = () => {
          if (signal?.aborted) throw new SkiffError('TRAINING_FAILED', 'training cancelled', { retryable: false });
        };
        stopIfCancelled();
        const { sessions: train, times } = await readTimedSplit(snapshot.files.train);
        await onProgress?.({ stage: 'train', epoch: 0, epochs: 1 });
        stopIfCancelled();
        const out = await trainBaselineArtifact(kind, train, params as TrainParams & BaselineParams, outDir, times);
        await onProgress?.({ stage: 'train', epoch: 1, epochs: 1 });
        logger.info('baseline trained', { model: kind, trainSeconds: Number(out.trainSeconds.toFixed(3)) });
        return out;
      }
      if (!isNeuralKind(kind)) throw new SkiffError('BAD_INPUT', `unknown model "${kind}" (expected gru4rec, sasrec, pop, sr, vsknn, stan or vstan)`, { retryable: false });
      const train = await readSplit(snapshot.files.train);
      // Validation split (inside the training period): HR/MRR@20 after every epoch, for the
      // training curves and early stopping (params.patience > 0: stop once HR@20 + MRR@20 has not
      // improved for `patience` epochs, keep the best epoch's weights). A sample keeps it cheap;
      // the test split is never looked at here.
      const validation = (await readSplit(snapshot.files.validation).catch(() => [] as string[][])).slice(0, 2_000);
      const validationCurve: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }> = [];
      const counts = itemCounts(train);
      const started = Date.now();
      const checkpointDir = path.join(outDir, '.checkpoint');
      const bestCheckpointDir = path.join(checkpointDir, 'best');
      const progressFile = path.join(checkpointDir, 'progress.json');
      // A retry resumes after the last checkpointed epoch. The checkpoint records its own epoch
      // count, so even a heartbeat lost to throttling redoes at most the interrupted epoch.
      const progress: Progress = (await hasSavedModel(checkpointDir)) ? await readFile(progressFile, 'utf8').then((t) => JSON.parse(t) as Progress, () => ({ epochsDone: 0 })) : { epochsDone: 0 };
      const resumeAt = progress.epochsDone;
      const resume = resumeAt > 0;
      if (resume) logger.info('resuming from checkpoint', { epochsDone: resumeAt, heartbeatEpoch: initialEpoch ?? null });
      const model = await trainGru4Rec({
        train,
        params,
        checkpointDir,
        ...(resume ? { initialEpoch: resumeAt, initialWeightsDir: checkpointDir } : {}),
        ...(resume && progress.bestEpoch !== undefined && progress.bestScore !== undefined ? { resumeEarlyStopping: { bestEpoch: progress.bestEpoch, bestScore: progress.bestScore } } : {}),
        ...(signal ? { signal } : {}),
        ...(validation.length
          ? {
              bestCheckpointDir,
              validate: async (m: Gru4RecModel, epoch: number) => {
                const v = evaluate(m, validation, { ks: [20], trainItemCounts: counts }).metrics;
                const hr = v['hr@20'] ?? 0;
                const mrr = v['mrr@20'] ?? 0;
                validationCurve.push({ epoch: epoch + 1, 'hr@20': hr, 'mrr@20': mrr });
                await onProgress?.({ stage: 'validate', epoch: epoch + 1, epochs: params.epochs, valHr20: hr, valMrr20: mrr });
                return hr + mrr;
              },
            }
          : {}),
        onBatchEnd: (b) => onProgress?.({ stage: 'train', epoch: b.epoch, epochs: params.epochs, batch: b.batch, batches: b.batches }),
        onEpochEnd: async (e) => {
          // trainGru4Rec saved the checkpoint (and the best weights) just before calling this.
          const next: Progress = { epochsDone: e.epoch + 1, ...(e.bestEpoch !== undefined && e.bestScore !== undefined ? { bestEpoch: e.bestEpoch, bestScore: e.bestScore } : {}) };
          await writeFile(progressFile, JSON.stringify(next));
          logger.info('epoch finished', { epoch: e.epoch + 1, epochs: params.epochs, loss: Number(e.loss.toFixed(4)), samplesPerSecond: Math.round(e.samplesPerSecond), ...(e.stop ? { earlyStop: true, bestEpoch: (e.bestEpoch ?? 0) + 1 } : {}) });
          // Heartbeat the number of finished epochs: the epoch a retry resumes at.
          await onProgress?.({ stage: 'train', epoch: e.epoch + 1, epochs: params.epochs, loss: e.loss });
        },
      });
      const files = await model.save(outDir);
      await rm(checkpointDir, { recursive: true, force: true });
      model.dispose();
      const t = model.training!;
      if (t.bestEpoch !== undefined) logger.info('early stopping', { bestEpoch: t.bestEpoch + 1, stoppedEarly: Boolean(t.stoppedEarly), bestScore: Number(t.bestScore!.toFixed(4)) });
      // epochs = epochs trained (fewer than params.epochs when early stopping ended training).
      return { artifactDir: outDir, files, backend: model.config.backend, epochs: resumeAt + t.losses.length, losses: t.losses, validation: validationCurve, samplesPerSecond: t.samplesPerSecond, trainSeconds: (Date.now() - started) / 1000, resumedFromEpoch: resumeAt };
    },

    async evaluate({ snapshot, artifactDir, ks = [10, 20] }: { snapshot: DatasetSnapshot; artifactDir: string; ks?: number[] }) {
      const [train, test] = await Promise.all([readSplit(snapshot.files.train), readSplit(snapshot.files.test)]);
      const counts = itemCounts(train);
      const model = await loadModelArtifact(artifactDir);
      try {
        const ours = evaluate(model, test, { ks, trainItemCounts: counts });
        const pop = evaluate(createPopModel(train), test, { ks, trainItemCounts: counts });
        const sr = evaluate(trainSr(train), test, { ks, trainItemCounts: counts });
        return { metrics: ours.metrics, baselines: { pop: pop.metrics, sr: sr.metrics }, predictions: ours.predictions };
      } finally {
        disposeModel(model);
      }
    },
  };
}

/**
 * The model an alias points to, loaded (hash-verified by the registry) for one job such as a
 * monitoring run; null when the alias is unset. Call dispose() when done.
 */
export async function loadAliasRecommender(registry: ModelRegistry, alias = 'production'): Promise<{ recommender: Recommender; version: string; dispose: () => void } | null> {
  const target = (await registry.aliases())[alias];
  if (!target) return null;
  const { dir, manifest } = await registry.get(target);
  const model = await loadModelArtifact(dir);
  return { recommender: model, version: manifest.version, dispose: () => disposeModel(model) };
}
