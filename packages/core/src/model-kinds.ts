/**
 * Every model kind skiff trains, serves and records (docs/design.md, Models and evaluation): two
 * neural models on TensorFlow.js and the baselines, which are trained by counting. Config, the
 * training params, the promotion gate's baselines and the artifact loader all take their lists
 * from here.
 */
export const NEURAL_KINDS = ['gru4rec', 'sasrec'] as const;
export type NeuralKind = (typeof NEURAL_KINDS)[number];

export const BASELINE_KINDS = ['pop', 'sr', 'vsknn', 'stan', 'vstan'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/**
 * A weighted fusion of baselines' scores (params `hybrid`): trained by counting like its
 * components, but not a gate baseline itself (it has no fixed definition to compare against).
 */
export const HYBRID_KIND = 'hybrid' as const;
export type HybridKind = typeof HYBRID_KIND;

export const MODEL_KINDS = [...NEURAL_KINDS, ...BASELINE_KINDS, HYBRID_KIND] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

const has = (list: readonly string[], v: unknown) => typeof v === 'string' && list.includes(v);
export const isModelKind = (v: unknown): v is ModelKind => has(MODEL_KINDS, v);
export const isNeuralKind = (v: unknown): v is NeuralKind => has(NEURAL_KINDS, v);
export const isBaselineKind = (v: unknown): v is BaselineKind => has(BASELINE_KINDS, v);
export const isHybridKind = (v: unknown): v is HybridKind => v === HYBRID_KIND;
