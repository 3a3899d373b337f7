import type { Candidate, TrainOutput, TrainParams } from '@skiff/core';

/** One candidate after training on train and scoring on validation. */
export interface CandidateResult {
  name: string;
  params: TrainParams;
  /** Validation HR@20 and MRR@20 at the chosen epoch count. */
  validation: { 'hr@20': number; 'mrr@20': number };
  /** What the candidates are compared on: validation HR@20 + MRR@20 (the early-stopping score). */
  score: number;
  chosenEpochs: number;
  epochsRun: number;
  stoppedEarly: boolean;
  trainSeconds: number;
  /** The tracker's run of this candidate, when a tracker is configured. */
  trackerRunId?: string;
  selection: NonNullable<TrainOutput['selection']>;
}

/** The selection over a run's candidates, as the run result and the progress query report it. */
export interface SelectionSummary {
  chosen: string;
  /** The tracker's parent run of the candidates and the refit, when a tracker is configured. */
  parentRunId?: string;
  candidates: Array<Omit<CandidateResult, 'selection' | 'params'> & { params: Partial<TrainParams> }>;
}

/**
 * The candidate with the highest validation score; on equal scores the earlier one in the list,
 * so the choice depends only on the results, not on which finished first.
 */
export function pickCandidate(results: readonly CandidateResult[]): CandidateResult {
  let best = results[0]!;
  for (const r of results.slice(1)) if (r.score > best.score) best = r;
  return best;
}

/**
 * The refit of the chosen candidate: its params with the epoch count chosen on validation and no
 * early stopping, which is what the trainer's own select-then-refit trains on train + validation.
 */
export function refitParams(chosen: CandidateResult): TrainParams {
  return chosen.params.model === 'gru4rec' || chosen.params.model === 'sasrec'
    ? { ...chosen.params, epochs: chosen.chosenEpochs, patience: 0 }
    : chosen.params;
}

/** Only the params that differ between candidates (what a status line needs to tell them apart). */
export function distinctParams(candidates: readonly Candidate[]): Array<Partial<TrainParams>> {
  const keys = new Set(candidates.flatMap((c) => Object.keys(c.params))) as Set<keyof TrainParams>;
  const varying = [...keys].filter((k) => new Set(candidates.map((c) => JSON.stringify(c.params[k]))).size > 1);
  return candidates.map((c) => Object.fromEntries(varying.map((k) => [k, c.params[k]])) as Partial<TrainParams>);
}
