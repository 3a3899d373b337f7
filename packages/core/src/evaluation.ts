import { z } from 'zod';
import { BASELINE_KINDS } from './model-kinds.js';
import { mulberry32 } from './random.js';

/**
 * How sessions are split by time. A session belongs to the split in which its LAST event falls,
 * so no session is cut in two and no test session leaks into training.
 * - `last-days` (default, session-rec's rule): test = sessions whose last event is within the
 *   final `testDays` days of the data; validation = the same rule (with `validationDays`,
 *   default `testDays`) applied to the sessions that remain; train = the rest.
 * - `dates`: test = last event at or after `testStart`, validation = at or after `validationStart`.
 * - `fraction`: test = the final `testFraction` of the time span; validation = the final
 *   `validationFraction` of what remains.
 */
export const SplitRuleSchema = z.discriminatedUnion('rule', [
  z
    .object({
      rule: z.literal('last-days'),
      testDays: z.number().positive().max(3650).default(1),
      validationDays: z.number().positive().max(3650).optional(),
    })
    .strict(),
  z
    .object({
      rule: z.literal('dates'),
      testStart: z.iso.datetime({ offset: true }),
      validationStart: z.iso.datetime({ offset: true }),
    })
    .strict()
    .refine((r) => Date.parse(r.validationStart) < Date.parse(r.testStart), {
      message: 'validationStart must be before testStart',
    }),
  z
    .object({
      rule: z.literal('fraction'),
      testFraction: z.number().gt(0).lt(1).default(0.1),
      validationFraction: z.number().gt(0).lt(1).default(0.1),
    })
    .strict(),
]);
export type SplitRule = z.infer<typeof SplitRuleSchema>;
export const DEFAULT_SPLIT_RULE: SplitRule = { rule: 'last-days', testDays: 1 };

/** One line describing a rule, for logs and CLI output. */
export function describeSplitRule(r: SplitRule): string {
  switch (r.rule) {
    case 'last-days':
      return `last-days (test: sessions ending in the final ${r.testDays} day(s); validation: the final ${r.validationDays ?? r.testDays} day(s) before)`;
    case 'dates':
      return `dates (validation from ${r.validationStart}, test from ${r.testStart})`;
    case 'fraction':
      return `fraction (test: final ${r.testFraction} of the time span; validation: final ${r.validationFraction} of the rest)`;
  }
}

/** Minimum sizes a split must have for a run to go on (and for a metric to be reported at all). */
export const SplitChecksSchema = z
  .object({
    /** Sessions per split (train, validation, test). */
    minSessions: z.number().int().min(1).default(50),
    /** Prediction points (next-item targets after removing items unseen in training) of validation and test. */
    minPredictions: z.number().int().min(1).default(200),
  })
  .strict();
export type SplitChecks = z.infer<typeof SplitChecksSchema>;

/** Sizes of one split. `predictions` counts next-item targets after the protocol's filtering. */
export interface SplitPart {
  sessions: number;
  events: number;
  predictions: number;
  /** Events of items unseen in the split's training data, removed before prediction (0 for train). */
  removedEvents: number;
  /** Sessions left with fewer than two events by that removal, and so dropped (0 for train). */
  droppedSessions: number;
}

/** The split of a snapshot: the rule, its time cuts and the sizes of each part. */
export interface SplitSummary {
  rule: SplitRule;
  validationStart: string;
  testStart: string;
  train: SplitPart;
  /** Filtered by the items of train (what model selection sees). */
  validation: SplitPart;
  /** Filtered by the items of train + validation (what the refit model is trained on). */
  test: SplitPart;
}

/** Prediction points of `sessions` once items not in `known` are removed (session-rec's protocol). */
export function predictionPoints(
  sessions: readonly (readonly string[])[],
  known: ReadonlySet<string> | null,
): SplitPart {
  let events = 0;
  let predictions = 0;
  let removedEvents = 0;
  let droppedSessions = 0;
  for (const s of sessions) {
    events += s.length;
    const kept = known ? s.filter((i) => known.has(i)).length : s.length;
    removedEvents += s.length - kept;
    if (kept >= 2) predictions += kept - 1;
    else if (s.length >= 2) droppedSessions++;
  }
  return { sessions: sessions.length, events, predictions, removedEvents, droppedSessions };
}

/** The sizes of train, validation and test, each filtered by what it is evaluated against. */
export function summariseSplit(
  split: {
    train: readonly (readonly string[])[];
    validation: readonly (readonly string[])[];
    test: readonly (readonly string[])[];
  },
  meta: { rule: SplitRule; validationStart: string; testStart: string },
): SplitSummary {
  const trainItems = new Set(split.train.flat());
  const refitItems = new Set([...trainItems, ...split.validation.flat()]);
  return {
    ...meta,
    train: predictionPoints(split.train, null),
    validation: predictionPoints(split.validation, trainItems),
    test: predictionPoints(split.test, refitItems),
  };
}

/** The problems of a split against the minimums (empty when it passes), sizes in every message. */
export function splitProblems(s: SplitSummary, checks: SplitChecks): string[] {
  const out: string[] = [];
  for (const part of ['train', 'validation', 'test'] as const)
    if (s[part].sessions < checks.minSessions)
      out.push(`${part} has ${s[part].sessions} sessions (minimum ${checks.minSessions})`);
  for (const part of ['validation', 'test'] as const)
    if (s[part].predictions < checks.minPredictions)
      out.push(`${part} has ${s[part].predictions} prediction points (minimum ${checks.minPredictions})`);
  return out;
}

/** Sizes as one line: `train 13,629 sessions · validation 4,165 sessions / 12,000 predictions · …`. */
export function describeSplitSizes(s: SplitSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const removed = (p: SplitPart) =>
    p.removedEvents
      ? `, ${n(p.removedEvents)} unseen-item events removed, ${n(p.droppedSessions)} sessions dropped`
      : '';
  return `train ${n(s.train.sessions)} sessions; validation ${n(s.validation.sessions)} sessions / ${n(s.validation.predictions)} predictions${removed(s.validation)}; test ${n(s.test.sessions)} sessions / ${n(s.test.predictions)} predictions${removed(s.test)}`;
}

/** The promotion gate's settings. */
export const GateSchema = z
  .object({
    /**
     * `candidate` (default): promote the trained model only if it beats the champion and every
     * baseline. `promote-best`: promote whichever model of the run wins the same test (baselines
     * included), if it beats every other model and the champion.
     */
    policy: z.enum(['candidate', 'promote-best']).default('candidate'),
    /** Baselines fitted on every run on the same split. */
    baselines: z.array(z.enum(BASELINE_KINDS)).default(['pop', 'sr', 'vsknn']),
    /** Two-sided confidence level of the paired bootstrap interval; a win needs its lower bound above 0. */
    confidence: z.number().gt(0).lt(1).default(0.95),
    resamples: z.number().int().min(100).max(100_000).default(1000),
    seed: z.number().int().default(7),
    /**
     * When no model clears every interval (no clear winner, or the judged model lost): `keep`
     * (default) moves nothing, so production stays as it is — empty when there is no champion.
     * `serve-best` changes that only while production is empty: the run's best model on the point
     * estimate (ties go to the candidate) is promoted, and the reason says that no model was a
     * clear winner. No other model of the run can have beaten it (its point estimate is the
     * highest), so a model a baseline beat is still never promoted; a champion is never replaced
     * this way. For a fresh install (the demo) that must serve something.
     */
    noWinner: z.enum(['keep', 'serve-best']).default('keep'),
  })
  .strict();
export type Gate = z.infer<typeof GateSchema>;

/** Mean difference a − b of per-prediction values, with its paired bootstrap percentile interval. */
export interface PairedDifference {
  a: number;
  b: number;
  diff: number;
  lo: number;
  hi: number;
}

/**
 * Paired bootstrap over prediction points: `values[m][i]` is model m's value (hit, reciprocal
 * rank…) on point i. Every resample draws the same n indices for all models, so each pair's
 * difference is paired. Returns the means and, for every ordered pair, the percentile interval of
 * the mean difference at `confidence`. Seeded: the same inputs give the same intervals.
 */
export function pairedBootstrap(
  values: Record<string, ArrayLike<number>>,
  options: { confidence: number; resamples: number; seed: number },
): {
  means: Record<string, number>;
  diff: (a: string, b: string) => PairedDifference;
} {
  const names = Object.keys(values);
  const n = values[names[0] ?? '']?.length ?? 0;
  for (const m of names)
    if (values[m]!.length !== n)
      throw new Error(`pairedBootstrap: ${m} has ${values[m]!.length} points, expected ${n}`);
  const cols = names.map((m) => Float64Array.from(values[m]!));
  const mean = (c: Float64Array) => (n ? c.reduce((a, x) => a + x, 0) / n : 0);
  const means = Object.fromEntries(names.map((m, j) => [m, mean(cols[j]!)]));
  const rand = mulberry32(options.seed);
  // Resampled means, one row per resample and one column per model.
  const sample = new Float64Array(options.resamples * names.length);
  const sums = new Float64Array(names.length);
  for (let r = 0; r < options.resamples; r++) {
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rand() * n);
      for (let j = 0; j < cols.length; j++) sums[j]! += cols[j]![k]!;
    }
    for (let j = 0; j < names.length; j++) sample[r * names.length + j] = n ? sums[j]! / n : 0;
  }
  const alpha = (1 - options.confidence) / 2;
  return {
    means,
    diff(a, b) {
      const ia = names.indexOf(a);
      const ib = names.indexOf(b);
      if (ia < 0 || ib < 0) throw new Error(`pairedBootstrap: unknown model ${ia < 0 ? a : b}`);
      const d = new Float64Array(options.resamples);
      for (let r = 0; r < options.resamples; r++)
        d[r] = sample[r * names.length + ia]! - sample[r * names.length + ib]!;
      d.sort();
      const q = (p: number) => d[Math.min(d.length - 1, Math.max(0, Math.floor(p * d.length)))]!;
      return { a: means[a]!, b: means[b]!, diff: means[a]! - means[b]!, lo: q(alpha), hi: q(1 - alpha) };
    },
  };
}

/**
 * The rule that turns online quality into a retraining trigger: online `metric` (from the events
 * that followed served lists) below the served version's offline test value by more than
 * `maxRelativeDrop` (0.2 = 20 %), once at least `minEvents` served requests have a next event.
 */
export interface QualityGate {
  metric: 'hr@20' | 'mrr@20';
  maxRelativeDrop: number;
  minEvents: number;
}

export const DEFAULT_QUALITY_GATE: QualityGate = { metric: 'hr@20', maxRelativeDrop: 0.2, minEvents: 200 };
export const QUALITY_METRICS = ['hr@20', 'mrr@20'] as const satisfies readonly QualityGate['metric'][];
