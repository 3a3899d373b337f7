import { SkiffError, type Logger } from '@skiff/core';
import type { AlertActivities, DriftAlert } from '@skiff/orchestrator-temporal';

/**
 * Drift and quality-drop alerts: always a structured log line; a JSON POST to the webhook when one is configured.
 * A non-2xx answer or a network error throws a retryable error, so Temporal retries the activity
 * with backoff (the workflow gives up after its retry policy, never blocking monitoring).
 */
export function createWebhookAlerter(options: { url?: string | undefined; logger: Logger; timeoutMs?: number }): AlertActivities {
  const { url, logger, timeoutMs = 5_000 } = options;
  return {
    async alert(alert: DriftAlert) {
      logger.warn(`${alert.kind} alert`, { ...alert });
      if (!url) return { delivered: false };
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alert), signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        throw new SkiffError('SOURCE_UNAVAILABLE', `alert webhook unreachable: ${(e as Error).message}`);
      }
      if (!res.ok) throw new SkiffError('SOURCE_UNAVAILABLE', `alert webhook answered ${res.status}`);
      return { delivered: true };
    },
  };
}
