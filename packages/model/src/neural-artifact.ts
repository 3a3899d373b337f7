import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkiffError, type NeuralKind, type TrainParams } from '@skiff/core';
import { writeFilesAtomic } from '@skiff/node-io';
import { resolveSasRecOptions } from './sasrec-encoder.js';
import { Vocabulary } from './vocabulary.js';
import { shapeMismatch, variable, weightShapes, type Weights } from './neural-weights.js';

/** The artifact of the neural models (GRU4Rec and SASRec): writing, reading and checking its files. */

/** `model.json` format of each kind. */
export const FORMATS: Record<NeuralKind, string> = { gru4rec: 'skiff-gru4rec', sasrec: 'skiff-sasrec' };

export interface Gru4RecConfig {
  /** Artifact kind (see artifact.ts); absent in configs written before kinds existed (= gru4rec). */
  kind?: NeuralKind;
  params: TrainParams;
  backend: string;
  /** [item, training count], most popular first: the answer when a session has no known item. */
  popularity: Array<[string, number]>;
}

/**
 * Writes `model.json` (tfjs ModelJSON: topology description + weightsManifest), `weights.bin`,
 * `vocabulary.json` (item of index i + 1) and `config.json`; returns the file names.
 */
export async function writeNeuralArtifact(
  dir: string,
  m: {
    kind: NeuralKind;
    vocab: Vocabulary;
    config: Gru4RecConfig;
    weights: Weights;
    weightNames: readonly string[];
    repeatWindow: number;
  },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(m.weightNames.map((name) => ({ name, tensor: m.weights[name]! })));
  const p = m.config.params;
  const files = ['model.json', 'weights.bin', 'vocabulary.json', 'config.json'];
  const handler = tf.io.withSaveHandler(async (artifacts) => {
    const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format!,
      generatedBy: artifacts.generatedBy!,
      convertedBy: null,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    };
    await writeFilesAtomic(dir, [
      ['weights.bin', new Uint8Array(weights)],
      ['vocabulary.json', JSON.stringify(m.vocab.items)],
      ['config.json', JSON.stringify(m.config, null, 2)],
      ['model.json', JSON.stringify(modelJson, null, 2)],
    ]);
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
  await handler.save!({
    format: FORMATS[m.kind],
    generatedBy: `@tensorflow/tfjs ${tf.version.tfjs}`,
    modelTopology: {
      type: m.kind,
      items: m.vocab.size,
      embeddingDim: p.embeddingDim,
      hiddenUnits: p.hiddenUnits,
      maxLen: p.maxLen,
      ...(m.kind === 'sasrec' ? resolveSasRecOptions(p) : {}),
      ...(m.kind === 'gru4rec' && p.cell ? { cell: p.cell } : {}),
      ...(m.repeatWindow > 0 ? { repeatWindow: m.repeatWindow } : {}),
    },
    weightSpecs: specs,
    weightData: data,
  });
  return files;
}

/** Reads and checks an artifact: vocabulary, config and weights of matching shapes (variables, `trainable` or not). */
export async function loadNeuralParts(
  dir: string,
  trainable: boolean,
): Promise<{ vocab: Vocabulary; weights: Weights; config: Gru4RecConfig }> {
  const read = (f: string) => readFile(path.join(dir, f));
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse((await read('model.json')).toString('utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `cannot read ${path.join(dir, 'model.json')}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const kind = (Object.keys(FORMATS) as NeuralKind[]).find((k) => FORMATS[k] === modelJson.format);
  if (!kind)
    throw new SkiffError(
      'ARTIFACT_CORRUPTED',
      `${dir} is not a skiff GRU4Rec or SASRec model (format ${String(modelJson.format)})`,
    );
  const bin = await read('weights.bin');
  const named = tf.io.decodeWeights(
    bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    modelJson.weightsManifest[0]?.weights ?? [],
  );
  const weights: Record<string, tf.Variable> = {};
  try {
    const vocab = new Vocabulary(JSON.parse((await read('vocabulary.json')).toString('utf8')) as string[]);
    const config = JSON.parse((await read('config.json')).toString('utf8')) as Gru4RecConfig;
    if ((config.kind ?? 'gru4rec') !== kind)
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `${dir}: config.json kind ${String(config.kind)} does not match model.json format ${String(modelJson.format)}`,
      );
    // The repeat weights exist only in artifacts trained with repeatWindow > 0 (weightShapes asks
    // for them only then), and the vocabulary fixes the tables' row count.
    const bad = shapeMismatch(named, kind, vocab.size, config.params);
    if (bad)
      throw new SkiffError('ARTIFACT_CORRUPTED', `${dir}: ${bad} (weights do not match vocabulary.json / config.json)`);
    for (const [n] of weightShapes(kind, vocab.size, config.params)) weights[n] = variable(n, named[n]!, trainable);
    return { vocab, weights: weights as Weights, config };
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw e;
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** True if `dir` holds a saved model (e.g. a checkpoint to resume from). */
export async function hasSavedModel(dir: string): Promise<boolean> {
  try {
    await access(path.join(dir, 'model.json'));
    await access(path.join(dir, 'weights.bin'));
    return true;
  } catch {
    return false;
  }
}
