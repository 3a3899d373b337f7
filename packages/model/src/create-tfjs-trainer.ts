import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, silentLogger, type DatasetSnapshot, type Logger, type Recommender, type Trainer } from '@skiff/core';
import { evaluate } from './evaluate.js';
import { loadGru4Rec, removeCheckpoint, trainGru4Rec } from './gru4rec.js';
import { createPopModel } from './pop.js';
import { itemCounts } from './vocabulary.js';

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

/** Loads a registered artifact folder as a recommender (used by serving). */
export async function loadRecommender(dir: string): Promise<Recommender> {
  return loadGru4Rec(dir);
}

/**
 * The Trainer port on TensorFlow.js. Trains on the train split; evaluates on the test split
 * next to POP trained on the same train split.
 */
export function createTfjsTrainer(options: CreateTfjsTrainerOptions = {}): Trainer {
  const { logger = silentLogger } = options;
  return {
    async train({ snapshot, params, outDir, initialEpoch, onProgress, signal }) {
      if (params.model !== 'gru4rec') throw new SkiffError('BAD_INPUT', `model "${params.model}" cannot be trained into an artifact yet (only gru4rec); POP is always evaluated as the baseline`);
      const train = await readSplit(snapshot.files.train);
      const started = Date.now();
      const checkpointDir = path.join(outDir, '.checkpoint');
      const { model, losses, samplesPerSecond } = await trainGru4Rec({
        train,
        params,
        checkpointDir,
        ...(initialEpoch ? { initialEpoch } : {}),
        ...(signal ? { signal } : {}),
        onBatchEnd: (b) => onProgress?.({ stage: 'train', epoch: b.epoch, epochs: params.epochs, batch: b.batch, batches: b.batches }),
        onEpochEnd: async (e) => {
          logger.info('epoch finished', { epoch: e.epoch, epochs: e.epochs, loss: Number(e.loss.toFixed(4)), samplesPerSecond: Math.round(e.samplesPerSecond) });
          // Heartbeat the completed epoch count: a retry resumes from here with the checkpoint.
          await onProgress?.({ stage: 'train', epoch: e.epoch, epochs: e.epochs, loss: e.loss });
        },
      });
      const files = await model.save(outDir);
      await removeCheckpoint(checkpointDir);
      model.dispose();
      return { artifactDir: outDir, files, backend: model.config.backend, epochs: params.epochs, losses, samplesPerSecond, trainSeconds: (Date.now() - started) / 1000 };
    },

    async evaluate({ snapshot, artifactDir, ks = [10, 20] }: { snapshot: DatasetSnapshot; artifactDir: string; ks?: number[] }) {
      const [train, test] = await Promise.all([readSplit(snapshot.files.train), readSplit(snapshot.files.test)]);
      const counts = itemCounts(train);
      const model = await loadGru4Rec(artifactDir);
      try {
        const ours = evaluate(model, test, { ks, trainItemCounts: counts });
        const pop = evaluate(createPopModel(train), test, { ks, trainItemCounts: counts });
        return { metrics: ours.metrics, baselines: { pop: pop.metrics }, predictions: ours.predictions };
      } finally {
        model.dispose();
      }
    },
  };
}
