import { SkiffError, type Metrics, type Recommender } from '@skiff/core';

export interface EvaluateOptions {
  ks?: number[];
  batchSize?: number;
  /**
   * Training item counts: their keys are the training items (test items not among them are
   * removed, and coverage is relative to them), their values give popularity bias. Omit to use
   * the model's vocabulary as the training items and skip popbias@k.
   */
  trainItemCounts?: ReadonlyMap<string, number>;
  /**
   * Also return this metric's value at every prediction point, in order (`hr@k`: 1 or 0, `mrr@k`:
   * 1/rank or 0, `ndcg@k`: 1/log2(rank + 1) or 0) — for paired comparisons between models.
   */
  perPoint?: string;
}

/** The value of a per-point metric (`hr@k`, `mrr@k`, `ndcg@k`) for a 0-based rank (-1: not listed). */
export function pointValue(metric: string, rank: number): number {
  const m = /^(hr|mrr|ndcg)@(\d+)$/.exec(metric);
  if (!m)
    throw new SkiffError('BAD_INPUT', `"${metric}" is not a per-prediction metric (use hr@k, mrr@k or ndcg@k)`, {
      retryable: false,
    });
  const k = Number(m[2]);
  if (rank < 0 || rank >= k) return 0;
  return m[1] === 'hr' ? 1 : m[1] === 'mrr' ? 1 / (rank + 1) : 1 / Math.log2(rank + 2);
}

/**
 * Next-item evaluation at every position (session-rec's convention): test items unknown to the
 * training data (`trainItemCounts`, else the model's vocabulary) are removed first and sessions left with fewer than two items are dropped; then
 * for every position i ≥ 1 the prefix [0, i) must rank item i. Repeated clicks are kept.
 * Ranking is over every training item. Metrics per k: hr@k (recall of the single target),
 * mrr@k, ndcg@k, coverage@k (share of the vocabulary ever recommended), popbias@k (mean popularity,
 * normalised by the top item's count, of recommended items).
 */
export function evaluate(
  model: Recommender,
  test: readonly (readonly string[])[],
  options: EvaluateOptions = {},
): EvaluateResult {
  const steps = evaluationSteps(model, test, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export type EvaluateResult = { metrics: Metrics; predictions: number; values?: Float64Array };

/**
 * `evaluate`, giving the event loop back after every batch of prediction points and reporting
 * progress there. A model that ranks item by item (the session kNNs) can take minutes over a large
 * split: in between, a Temporal activity's heartbeats go out and its cancellation arrives.
 * `signal`: stops between batches (the error is the signal's reason, or an AbortError).
 */
export async function evaluateYielding(
  model: Recommender,
  test: readonly (readonly string[])[],
  options: EvaluateOptions & {
    /** After every batch: its 0-based index, the number of batches, and prediction points done of the total. */
    onBatch?: (p: { batch: number; batches: number; done: number; total: number }) => void | Promise<void>;
    signal?: AbortSignal;
  } = {},
): Promise<EvaluateResult> {
  const { onBatch, signal, ...rest } = options;
  // 512: the neural models' forward pass; a kNN scores 512 prefixes in well under a heartbeat timeout.
  const batchSize = rest.batchSize ?? 512;
  const steps = evaluationSteps(model, test, { ...rest, batchSize });
  for (let batch = 0; ; batch++) {
    signal?.throwIfAborted();
    const r = steps.next();
    if (r.done) return r.value;
    await onBatch?.({ batch, batches: Math.ceil(r.value.total / batchSize), ...r.value });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The evaluation loop, yielding after each batch (prediction points done of the total). */
function* evaluationSteps(
  model: Recommender,
  test: readonly (readonly string[])[],
  options: EvaluateOptions,
): Generator<{ done: number; total: number }, EvaluateResult> {
  const { ks = [10, 20], batchSize = 2048, trainItemCounts, perPoint } = options;
  if (perPoint !== undefined) pointValue(perPoint, -1);
  const perPointK = perPoint !== undefined ? Number(perPoint.split('@')[1]) : 0;
  // The protocol removes test items unseen in *training*, whatever the model's vocabulary: every
  // model is then scored on the same prediction points.
  const known: ReadonlySet<string> = trainItemCounts ? new Set(trainItemCounts.keys()) : new Set(model.vocabulary);
  const kmax = Math.max(...ks, perPointK);
  const prefixes: string[][] = [];
  const targets: string[] = [];
  for (const raw of test) {
    const s = raw.filter((i) => known.has(i));
    for (let i = 1; i < s.length; i++) {
      prefixes.push(s.slice(0, i));
      targets.push(s[i]!);
    }
  }
  const hr = new Map(ks.map((k) => [k, 0]));
  const mrr = new Map(ks.map((k) => [k, 0]));
  const ndcg = new Map(ks.map((k) => [k, 0]));
  const covered = new Map(ks.map((k) => [k, new Set<string>()]));
  const pop = new Map(ks.map((k) => [k, 0]));
  const maxCount = trainItemCounts ? Math.max(1, ...trainItemCounts.values()) : 1;
  const values = perPoint !== undefined ? new Float64Array(prefixes.length) : undefined;
  for (let off = 0; off < prefixes.length; off += batchSize) {
    const recs = model.recommendBatch(prefixes.slice(off, off + batchSize), kmax);
    recs.forEach((list, j) => {
      const target = targets[off + j]!;
      const rank = list.findIndex((r) => r.itemId === target); // 0-based, -1 when absent
      if (values) values[off + j] = pointValue(perPoint!, rank);
      for (const k of ks) {
        const top = list.slice(0, k);
        if (rank >= 0 && rank < k) {
          hr.set(k, hr.get(k)! + 1);
          mrr.set(k, mrr.get(k)! + 1 / (rank + 1));
          ndcg.set(k, ndcg.get(k)! + 1 / Math.log2(rank + 2));
        }
        const cov = covered.get(k)!;
        for (const r of top) cov.add(r.itemId);
        if (trainItemCounts && top.length)
          pop.set(
            k,
            pop.get(k)! + top.reduce((a, r) => a + (trainItemCounts.get(r.itemId) ?? 0) / maxCount, 0) / top.length,
          );
      }
    });
    yield { done: Math.min(prefixes.length, off + batchSize), total: prefixes.length };
  }
  const n = prefixes.length;
  const metrics: Metrics = {};
  for (const k of ks) {
    metrics[`hr@${k}`] = n ? hr.get(k)! / n : 0;
    metrics[`mrr@${k}`] = n ? mrr.get(k)! / n : 0;
    metrics[`ndcg@${k}`] = n ? ndcg.get(k)! / n : 0;
    metrics[`coverage@${k}`] = known.size ? covered.get(k)!.size / known.size : 0;
    if (trainItemCounts) metrics[`popbias@${k}`] = n ? pop.get(k)! / n : 0;
  }
  return { metrics, predictions: n, ...(values ? { values } : {}) };
}
