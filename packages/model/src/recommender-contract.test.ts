/**
 * The Recommender contract suite (@skiff/testing) on every model kind, each trained by the tfjs
 * trainer and loaded from its artifact folder the way serving loads it (loadRecommender).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrainParamsSchema } from '@skiff/core';
import { describeRecommenderContract, writeContractSnapshot } from '@skiff/testing';
import { MODEL_KINDS } from '@skiff/core';
import { createTfjsTrainer, loadRecommender } from './create-tfjs-trainer.js';
import { disposeModel } from './model-kinds.js';

for (const kind of MODEL_KINDS)
  describeRecommenderContract(
    kind,
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), `skiff-rec-contract-${kind}-`));
      const data = await writeContractSnapshot(path.join(dir, 'snapshot'), { seed: 5 });
      // Only core fields: parse fills the defaults of any newer optional params.
      const params = TrainParamsSchema.parse({
        model: kind,
        epochs: 2,
        embeddingDim: 16,
        hiddenUnits: 16,
        maxLen: 5,
        batchSize: 64,
        learningRate: 0.01,
        seed: 3,
      });
      const out = await createTfjsTrainer().train({
        snapshot: data.snapshot,
        params,
        outDir: path.join(dir, 'artifact'),
      });
      const model = await loadRecommender(out.artifactDir);
      return {
        recommender: model,
        // The trainer fits every kind on train + validation (the refit of the evaluation protocol),
        // so that is the data whose most popular items an empty history gets.
        train: [...data.train, ...data.validation],
        dispose: async () => {
          disposeModel(model);
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    // Every kind falls back to the most popular training items for an empty history, and fills lists up to k.
    { emptyHistory: 'popular', fillsToK: true },
  );
