import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { toSkiffError, type Progress } from '@skiff/core';
import type { ActivityHooks } from '@skiff/pipeline';

/**
 * Hooks that connect pipeline stages to the running Temporal activity: progress becomes a
 * heartbeat (its details come back on retry, so training resumes from its last epoch) and the
 * activity's cancellation signal stops training between batches.
 */
export const temporalActivityHooks: ActivityHooks = {
  progress: (p: Progress) => heartbeat(p),
  signal: () => Context.current().cancellationSignal,
  resumeFrom: () => {
    const d = activityInfo().heartbeatDetails as Progress | undefined;
    return d && typeof d.epoch === 'number' ? d : undefined;
  },
};

type AnyFn = (...args: never[]) => Promise<unknown>;

function inActivity(): boolean {
  try {
    Context.current();
    return true;
  } catch {
    return false;
  }
}

/**
 * Maps SkiffErrors to Temporal failures at the edge: non-retryable codes become non-retryable
 * ApplicationFailures typed by code; retryable ones keep Temporal's retry policy.
 */
export function wrapActivities<T extends Record<string, AnyFn>>(acts: T): T {
  const out: Record<string, AnyFn> = {};
  for (const [name, fn] of Object.entries(acts)) {
    out[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
        // A stage that stopped because the activity was cancelled reports a cancellation, not a failure.
        if (inActivity() && Context.current().cancellationSignal.aborted)
          throw new CancelledFailure('cancelled', [], err instanceof Error ? err : undefined);
        const e = toSkiffError(err);
        throw ApplicationFailure.create({
          message: e.message,
          type: e.code,
          nonRetryable: !e.retryable,
          details: e.details ? [e.details] : [],
          cause: err instanceof Error ? err : undefined,
        });
      }
    };
  }
  return out as T;
}
