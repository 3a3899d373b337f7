import type { Gate, GateComparison, GateModel } from '@skiff/core';

/** One test of the gate: the contender against another model, on the paired test predictions. */
export interface GateCheck {
  against: string;
  role: GateModel['role'];
  version?: string;
  value: number;
  diff: number;
  lo: number;
  hi: number;
  /** The lower bound of the interval of contender − other is above 0. */
  passed: boolean;
}

/** What the gate decided, with every number it decided on (kept in the manifest and the alias history). */
export interface GateDecision {
  policy: Gate['policy'];
  metric: string;
  confidence: number;
  predictions: number;
  /** The model the gate judged: `candidate`, or under `promote-best` the best model of the run. */
  contender: string;
  contenderValue: number;
  /** The model to promote (`candidate` or a baseline's name); null when nothing is promoted. */
  promote: string | null;
  /** The champion the comparison was made against (null: none), so a later move can be noticed. */
  champion: string | null;
  /**
   * Set when no model cleared every interval and `noWinner: serve-best` promoted the run's best
   * model on its point estimate because production was empty (`promote` names it).
   */
  fallback?: 'serve-best';
  checks: GateCheck[];
  reason: string;
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
const pct = (c: number) => `${Math.round(c * 1000) / 10}%`;

/** `sr 0.6222: +0.0401 [95% CI +0.0300, +0.0500]` (the contender minus that model). */
export function describeCheck(c: GateCheck, confidence: number): string {
  const who = c.role === 'champion' ? `champion ${c.version ?? ''}`.trim() : c.against;
  return `${who} ${c.value.toFixed(4)}: ${signed(c.diff)} [${pct(confidence)} CI ${signed(c.lo)}, ${signed(c.hi)}]`;
}

/**
 * The promotion rule. Under `candidate` the trained model is judged; under `promote-best` the run's
 * best model on the metric (candidate or a baseline; ties go to the candidate). The judged model is
 * promoted only if, against every other model of the comparison (the champion included), the lower
 * bound of the paired bootstrap interval of the difference is above 0. When nothing clears that
 * bar, `noWinner: serve-best` with an empty production promotes the run's best model on its point
 * estimate instead, saying so (see GateSchema). Pure and deterministic, so a workflow can run it.
 */
export function decideGate(
  cmp: GateComparison,
  policy: Gate['policy'],
  options: { noWinner?: Gate['noWinner'] | undefined } = {},
): GateDecision {
  const names = Object.keys(cmp.models);
  const contenders = names.filter((n) => cmp.models[n]!.role !== 'champion');
  const best = contenders.reduce((b, n) => (cmp.models[n]!.value > cmp.models[b]!.value ? n : b), 'candidate');
  const contender = policy === 'candidate' ? 'candidate' : best;
  const champion = names.find((n) => cmp.models[n]!.role === 'champion');
  const checks: GateCheck[] = checksOf(cmp, contender, names);
  const value = cmp.models[contender]!.value;
  const lost = checks.filter((c) => !c.passed);
  const winner = lost.length === 0 ? contender : null;
  const head = `${cmp.metric} ${value.toFixed(4)} (${contender === 'candidate' ? 'candidate' : `${contender}, the best of the run`}) on ${cmp.predictions} test predictions`;
  const verdict =
    checks.length === 0
      ? `${head}; no champion and no baselines to beat`
      : winner
        ? `${head} beats all: ${checks.map((c) => describeCheck(c, cmp.confidence)).join('; ')}`
        : `${head} does not beat ${lost.map((c) => describeCheck(c, cmp.confidence)).join('; ')}` +
          (lost.length < checks.length
            ? `; beats ${checks
                .filter((c) => c.passed)
                .map((c) => describeCheck(c, cmp.confidence))
                .join('; ')}`
            : '');
  // The fallback's model has the highest point estimate of the run, so no other model's interval
  // against it can lie above 0: it is never a model that a baseline beat.
  const fallback = !winner && !champion && options.noWinner === 'serve-best';
  const promote = winner ?? (fallback ? best : null);
  const reason = fallback
    ? `no clear winner: ${verdict}. Production is empty, so the best model of the run on the point estimate, ${best === 'candidate' ? 'the candidate' : best} (${cmp.metric} ${cmp.models[best]!.value.toFixed(4)}), is promoted to have something to serve (noWinner: serve-best)`
    : verdict;
  return {
    policy,
    metric: cmp.metric,
    confidence: cmp.confidence,
    predictions: cmp.predictions,
    contender,
    contenderValue: value,
    promote,
    champion: champion ? (cmp.models[champion]!.version ?? null) : null,
    checks,
    reason,
    ...(fallback ? { fallback: 'serve-best' as const } : {}),
  };
}

/** The contender against every other model of the comparison. */
function checksOf(cmp: GateComparison, contender: string, names: string[]): GateCheck[] {
  return names
    .filter((n) => n !== contender)
    .map((n) => {
      const p = cmp.pairs.find((x) => x.a === contender && x.b === n);
      if (!p) throw new Error(`gate: no paired comparison of ${contender} with ${n}`);
      const m = cmp.models[n]!;
      return {
        against: n,
        role: m.role,
        ...(m.version ? { version: m.version } : {}),
        value: m.value,
        diff: p.diff,
        lo: p.lo,
        hi: p.hi,
        passed: p.lo > 0,
      };
    });
}
