import type { SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { createActivities, type ActivityHooks } from '@skiff/pipeline';
import { buildMonitoringDeps } from './monitoring.js';
import { buildPipelineDeps } from './pipeline.js';

/** Every activity a worker registers (training stages, monitor, alert) over this config's adapters. */
export function buildActivities(config: SkiffConfig, logger: Logger, hooks: ActivityHooks = {}) {
  return createActivities({
    pipeline: buildPipelineDeps(config, logger),
    monitoring: buildMonitoringDeps(config, logger),
    alert: { url: config.alertWebhookUrl, logger: logger.child({ stage: 'alert' }) },
    hooks,
  });
}
