import { SkiffError, type Logger } from '@skiff/core';

/** A drift alert, as posted to the configured webhook. */
export interface DriftAlert {
  /** 'drift' when the dataset drifted (with or without a quality drop), else 'quality-drop'. */
  kind: 'drift' | 'quality-drop';
  monitorWorkflowId: string;
  modelVersion: string | null;
  share: number;
  driftShare: number;
  driftedColumns: string[];
  reportPath: string;
  retrainWorkflowId: string | null;
  /** Set when online quality fell below the served version's offline metric by more than the limit. */
  qualityDrop?: {
    metric: string;
    online: number | null;
    offline: number | null;
    relativeDrop: number | null;
    reason: string;
  } | null;
}

export interface AlertDeps {
  /** The webhook; without one, alerts are only logged. */
  url?: string | undefined;
  logger: Logger;
  timeoutMs?: number;
}

/**
 * Drift and quality-drop alerts: always a structured log line; a JSON POST to the webhook when one is configured.
 * A non-2xx answer or a network error throws a retryable error, so Temporal retries the activity
 * with backoff (the workflow gives up after its retry policy, never blocking monitoring).
 */
export function createAlertActivities(deps: AlertDeps) {
  const { url, logger, timeoutMs = 5_000 } = deps;
  return {
    /** Logs the alert and posts it to the webhook when one is configured. */
    async alert(alert: DriftAlert): Promise<{ delivered: boolean }> {
      logger.warn(`${alert.kind} alert`, { ...alert });
      if (!url) return { delivered: false };
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        throw new SkiffError('SOURCE_UNAVAILABLE', `alert webhook unreachable: ${(e as Error).message}`);
      }
      if (!res.ok) throw new SkiffError('SOURCE_UNAVAILABLE', `alert webhook answered ${res.status}`);
      return { delivered: true };
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
