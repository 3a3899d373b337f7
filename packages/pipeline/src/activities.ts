/**
 * Every activity of skiff, in one module: the training stages, the monitoring run, the alert and
 * the reproduction of a registered version, each built by a factory over its ports. Workflows
 * import their types from here (type-only); a composition root builds them with `createActivities`.
 */
import { createAlertActivities, type AlertDeps } from './alert-activities.js';
import { createMonitoringActivities, type MonitoringDeps } from './monitoring-activities.js';
import { createPipelineActivities, type ActivityHooks, type PipelineDeps } from './training-activities.js';
import type { MonitorRunResult } from '@skiff/core';

export * from './training-activities.js';
export * from './monitoring-activities.js';
export * from './alert-activities.js';
export * from './reproduction-activities.js';

export interface ActivitiesDeps<R extends MonitorRunResult = MonitorRunResult> {
  pipeline: PipelineDeps;
  monitoring: MonitoringDeps<R>;
  alert: AlertDeps;
  /** Runner hooks of the training stages (heartbeats, cancellation, resume). */
  hooks?: ActivityHooks;
}

/** The activities a worker registers: training stages, monitor and alert. */
export function createActivities<R extends MonitorRunResult>(deps: ActivitiesDeps<R>) {
  return {
    ...createPipelineActivities(deps.pipeline, deps.hooks ?? {}),
    ...createMonitoringActivities(deps.monitoring),
    ...createAlertActivities(deps.alert),
  };
}

export type Activities = ReturnType<typeof createActivities<MonitorRunResult>>;
