/**
 * The Trainer contract suite (@skiff/testing) against the tfjs trainer: GRU4Rec with a small
 * config, and the baselines it trains (JSON artifacts, no tfjs). A replacement trainer (SageMaker,
 * Vertex AI…) runs the same suite: docs/swapping.md.
 */
import { TrainParamsSchema } from '@skiff/core';
import { describeTrainerContract } from '@skiff/testing';
import { createTfjsTrainer, loadRecommender } from './create-tfjs-trainer.js';

// What serving loads an artifact with (GRU4Rec models have dispose(), the baselines hold no tensors).
const load = (dir: string) => loadRecommender(dir);

// Only the core fields (parse fills the defaults), so new optional GRU4Rec params keep their defaults.
describeTrainerContract('tfjs gru4rec', async () => ({
  trainer: createTfjsTrainer(),
  params: TrainParamsSchema.parse({
    model: 'gru4rec',
    epochs: 2,
    embeddingDim: 16,
    hiddenUnits: 16,
    maxLen: 5,
    batchSize: 64,
    learningRate: 0.01,
    seed: 7,
  }),
  load,
}));

for (const model of ['sr', 'pop', 'vsknn', 'stan', 'vstan', 'hybrid'] as const)
  describeTrainerContract(`tfjs ${model}`, async () => ({
    trainer: createTfjsTrainer(),
    params: TrainParamsSchema.parse({ model, seed: 7 }),
    load,
  }));

describeTrainerContract('tfjs sasrec', async () => ({
  trainer: createTfjsTrainer(),
  params: TrainParamsSchema.parse({
    model: 'sasrec',
    epochs: 2,
    embeddingDim: 16,
    hiddenUnits: 32,
    maxLen: 5,
    batchSize: 64,
    learningRate: 0.01,
    seed: 7,
    heads: 2,
  }),
  load,
}));
