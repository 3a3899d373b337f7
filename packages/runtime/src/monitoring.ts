import { dataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger } from '@skiff/core';
import { loadAliasRecommender } from '@skiff/model';
import { runMonitor, type RunMonitorOptions, type SkiffMonitorRunResult } from '@skiff/monitoring';
import { createMonitoringActivities, type MonitoringDeps } from '@skiff/pipeline';
import { buildRegistry, openWarehouse } from './pipeline.js';

/**
 * The monitoring run over this data dir: the production model's training snapshot vs the serving
 * log, with the served model loaded so that its outputs on reference sessions can be compared too.
 * `extra` overrides the run's options (`skiff monitor --out/--reference/--current/--window-hours`).
 */
export function buildMonitoringDeps(
  config: SkiffConfig,
  logger: Logger,
  extra: Partial<RunMonitorOptions> = {},
): MonitoringDeps<SkiffMonitorRunResult> {
  const paths = dataPaths(config.dataDir);
  const registry = buildRegistry(config);
  return {
    runMonitor: (input) =>
      runMonitor({
        registry,
        servingLogDir: paths.servingLogs,
        eventsDir: paths.onlineEvents,
        snapshotsDir: paths.snapshots,
        reportsDir: paths.reports,
        logger: logger.child({ stage: 'monitor' }),
        ...(input.recommender ? { recommender: input.recommender } : {}),
        qualityGate: {
          metric: config.qualityMetric,
          maxRelativeDrop: config.qualityMaxDrop,
          minEvents: config.qualityMinEvents,
        },
        driftShare: config.driftShare,
        ...(input.windowHours ? { windowHours: input.windowHours } : {}),
        ...extra,
      }),
    loadServedModel: () => loadAliasRecommender(registry),
    openWarehouse: () => openWarehouse(config, logger),
    logger,
  };
}

/** One monitoring run as a process or command (`skiff monitor`, apps/monitor): the same activity the schedule runs. */
export function monitorOnce(
  config: SkiffConfig,
  logger: Logger,
  extra: Partial<RunMonitorOptions> = {},
): Promise<SkiffMonitorRunResult> {
  return createMonitoringActivities(buildMonitoringDeps(config, logger, extra)).monitor({});
}
