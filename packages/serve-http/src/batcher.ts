import type { ScoredItem } from '@skiff/core';
import type { LoadedModel } from './model-holder.js';

/**
 * Micro-batching: requests that arrive in the same turn of the event loop are scored in one
 * recommendBatch call. Under load this amortises the per-call cost of the model (for tfjs, one
 * kernel launch per op instead of one per op per request); alone, a request waits one
 * setImmediate. Each request keeps the model snapshot it started with.
 *
 * Measured (bench/serve, 2 cores, before the chunked top-k, which brought 64 down to 5.5 ms): the
 * 50k-item GRU4Rec took 2.1 ms for 1 request, 4.5 ms for 16 and 9.7 ms for 64, i.e. 7–14× less per
 * request in a batch. Even V-SKNN, whose recommendBatch
 * is a plain loop, answered more requests batched than one by one (medians of 3 interleaved
 * rounds: +14% at 16 connections, +29% at 64): scoring runs back to back, then the answers are
 * written together. The cap bounds the wait of a batch's first request (~10 ms of GRU at 64).
 *
 * `settleMs` > 0: a batch keeps collecting for one more turn of the event loop as long as the last
 * turn brought new requests, up to `settleMs` after its first one — under load, requests written
 * back by the clients of the previous batch arrive over several turns, and one fuller model call
 * costs less than two half ones. A lone request still waits one turn only (the next turn brings
 * nothing new).
 */
export function createMicroBatcher(
  options: {
    maxBatch?: number;
    /** Keep collecting while requests keep arriving, at most this long after a batch's first (0: one turn). */
    settleMs?: number;
    /** Called after each model call with the number of requests it scored (for /metrics). */
    onBatch?: (size: number) => void;
  } = {},
) {
  const { maxBatch = 64, settleMs = 0, onBatch } = options;
  type Job = {
    m: LoadedModel;
    items: string[];
    k: number;
    resolve: (r: ScoredItem[]) => void;
    reject: (e: unknown) => void;
  };
  let queue: Job[] = [];
  let scheduled = false;
  /** When the batch being collected got its first request, and its size at the last turn. */
  let firstAt = 0;
  let seen = 0;
  /** Counts flushes: a settle turn scheduled for an earlier batch (flushed when it filled up) stops. */
  let generation = 0;
  let batches = 0;
  let batched = 0;

  /** Runs once per turn while a batch is collected (settleMs > 0). */
  const settle = (gen: number) => {
    if (gen !== generation) return;
    if (queue.length > seen && performance.now() - firstAt < settleMs) {
      seen = queue.length;
      setImmediate(settle, gen);
    } else flush();
  };

  /** The end of the turn for a batch that did not fill up meanwhile (a full one flushed at once). */
  const flushIfCurrent = (gen: number) => {
    if (gen === generation) flush();
  };

  const flush = () => {
    scheduled = false;
    generation++;
    const jobs = queue;
    queue = [];
    // Group by model: a swap between two requests of one turn must not mix versions.
    const groups = new Map<LoadedModel, Job[]>();
    for (const j of jobs) (groups.get(j.m) ?? groups.set(j.m, []).get(j.m)!).push(j);
    for (const [m, group] of groups) {
      const k = Math.max(...group.map((j) => j.k));
      try {
        const out = m.recommender.recommendBatch(
          group.map((j) => j.items),
          k,
        );
        batches++;
        batched += group.length;
        onBatch?.(group.length);
        group.forEach((j, i) => j.resolve((out[i] ?? []).slice(0, j.k)));
      } catch (e) {
        for (const j of group) j.reject(e);
      }
    }
  };

  return {
    recommend(m: LoadedModel, items: string[], k: number): Promise<ScoredItem[]> {
      return new Promise((resolve, reject) => {
        queue.push({ m, items, k, resolve, reject });
        if (queue.length >= maxBatch) flush();
        else if (!scheduled) {
          scheduled = true;
          firstAt = performance.now();
          seen = queue.length;
          if (settleMs > 0) setImmediate(settle, generation);
          else setImmediate(flushIfCurrent, generation);
        }
      });
    },
    /** Mean requests per model call so far (for /metrics). */
    meanBatchSize: () => (batches ? batched / batches : 0),
  };
}
