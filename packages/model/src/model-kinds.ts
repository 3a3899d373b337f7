import {
  isBaselineKind,
  SkiffError,
  type BaselineKind,
  type ModelKind,
  type TrainOutput,
  type TrainParams,
} from '@skiff/core';
import { readModelKind } from './artifact.js';
import { createHybrid, loadHybrid, type HybridModel } from './hybrid.js';
import { Gru4RecModel, loadGru4Rec } from './neural-model.js';
import { createPopModel, loadPop, type PopModel } from './pop.js';
import { loadSr, trainSr, type SrModel, type SrParams } from './sr.js';
import { loadStan, trainStan, type StanModel, type StanParams, type VstanParams } from './stan.js';
import { loadVsknn, trainVsknn, type VsknnModel, type VsknnParams } from './vsknn.js';

export type BaselineModel = PopModel | SrModel | VsknnModel | StanModel;
/** Whatever an artifact folder loads as; every one is a core `Recommender` with `save(dir)`. */
export type LoadedModel = Gru4RecModel | BaselineModel | HybridModel;
/** The kinds trained by counting, in milliseconds to seconds, without tfjs: the baselines and the hybrid. */
export type CountedKind = BaselineKind | 'hybrid';
export const isCountedKind = (kind: string): kind is CountedKind => kind === 'hybrid' || isBaselineKind(kind);

/** Optional baseline hyper-parameters next to the core TrainParams (defaults: session-rec's RSC15 settings). */
export interface BaselineParams {
  sr?: Partial<SrParams>;
  vsknn?: Partial<VsknnParams>;
  stan?: Partial<StanParams>;
  vstan?: Partial<VstanParams>;
  /** The hybrid kind's components and weights. */
  hybrid?: TrainParams['hybrid'];
}

export interface TrainBaselineOptions extends BaselineParams {
  /** Last-event time of each training session in seconds, for the kNN kinds' recency (default: array order). */
  lastTimes?: readonly number[];
}

export function trainBaseline(
  kind: BaselineKind,
  train: readonly (readonly string[])[],
  options: TrainBaselineOptions = {},
): BaselineModel {
  if (!train.some((s) => s.length > 0)) throw new SkiffError('BAD_INPUT', 'training data has no items');
  switch (kind) {
    case 'pop':
      return createPopModel(train);
    case 'sr':
      return trainSr(train, options.sr);
    case 'vsknn':
      return trainVsknn(train, options.vsknn, options.lastTimes ? { lastTimes: options.lastTimes } : {});
    case 'stan':
    case 'vstan':
      return trainStan(kind, train, options[kind], options.lastTimes ? { lastTimes: options.lastTimes } : {});
  }
}

/**
 * Fits a counted kind: a baseline, or a hybrid whose components are baselines fitted on the same
 * sessions (each with its own params from the recipe).
 */
export function trainCounted(
  kind: CountedKind,
  train: readonly (readonly string[])[],
  options: TrainBaselineOptions = {},
): BaselineModel | HybridModel {
  if (kind !== 'hybrid') return trainBaseline(kind, train, options);
  if (!train.some((s) => s.length > 0)) throw new SkiffError('BAD_INPUT', 'training data has no items');
  const times = options.lastTimes ? { lastTimes: options.lastTimes } : {};
  return createHybrid(train, options.hybrid, (component, params) =>
    trainBaseline(component, train, { ...times, ...(params ? { [component]: params } : {}) }),
  );
}

/**
 * Loads any artifact folder by the `kind` of its `config.json` (missing kind = GRU4Rec, the format
 * before kinds existed). Call `dispose()` on a GRU4Rec model when done (it holds tfjs tensors).
 */
export async function loadModelArtifact(dir: string): Promise<LoadedModel> {
  const kind: ModelKind = await readModelKind(dir);
  switch (kind) {
    case 'gru4rec':
    case 'sasrec':
      return loadGru4Rec(dir);
    case 'pop':
      return loadPop(dir);
    case 'sr':
      return loadSr(dir);
    case 'vsknn':
      return loadVsknn(dir);
    case 'stan':
    case 'vstan':
      return loadStan(dir, kind);
    case 'hybrid':
      return loadHybrid(dir, async (sub) => {
        const component = await loadModelArtifact(sub);
        if (component instanceof Gru4RecModel || component.kind === 'hybrid') {
          disposeModel(component);
          throw new SkiffError('ARTIFACT_CORRUPTED', `${sub}: a hybrid's components are baselines`);
        }
        return component;
      });
  }
}

/** Frees what a loaded model holds (tfjs tensors for GRU4Rec; nothing for the baselines). */
export function disposeModel(model: LoadedModel): void {
  if (model instanceof Gru4RecModel) model.dispose();
}

/**
 * The Trainer port's `train` for a baseline kind: fit on the train split and save into `outDir`.
 * `lastTimes` (seconds, aligned with `train`) gives the kNN kinds their sessions' recency.
 */
export async function trainBaselineArtifact(
  kind: CountedKind,
  train: readonly (readonly string[])[],
  params: TrainParams & BaselineParams,
  outDir: string,
  lastTimes?: readonly number[],
): Promise<TrainOutput> {
  const started = performance.now();
  const model = trainCounted(kind, train, { ...countedOptions(params), ...(lastTimes ? { lastTimes } : {}) });
  const fitSeconds = (performance.now() - started) / 1000;
  const files = await model.save(outDir);
  const events = train.reduce((a, s) => a + s.length, 0);
  return {
    artifactDir: outDir,
    files,
    backend: 'js',
    epochs: 1,
    losses: [],
    samplesPerSecond: fitSeconds > 0 ? events / fitSeconds : events,
    trainSeconds: (performance.now() - started) / 1000,
  };
}

/** The per-kind params of a run's TrainParams, as trainCounted takes them. */
export function countedOptions(params: TrainParams & BaselineParams): BaselineParams {
  return {
    ...(params.sr ? { sr: params.sr } : {}),
    ...(params.vsknn ? { vsknn: params.vsknn } : {}),
    ...(params.stan ? { stan: params.stan } : {}),
    ...(params.vstan ? { vstan: params.vstan } : {}),
    ...(params.hybrid ? { hybrid: params.hybrid } : {}),
  };
}
