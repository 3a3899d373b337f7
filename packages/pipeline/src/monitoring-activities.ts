import type { Logger, MonitorRunResult, Recommender, Warehouse } from '@skiff/core';

/** The model under the serving alias, loaded for one run; `dispose` frees its tensors. */
export interface ServedModel {
  recommender: Recommender;
  dispose(): void;
}

/** Everything one monitoring run needs, built by the composition root (`@skiff/runtime`). */
export interface MonitoringDeps<R extends MonitorRunResult = MonitorRunResult> {
  /**
   * One drift run over this data dir: the served version's training snapshot vs the serving log
   * (the monitoring package's `runMonitor`, bound to the data dir's folders and quality gate).
   */
  runMonitor(input: { windowHours?: number; recommender?: Recommender }): Promise<R>;
  /** The served model, so that its outputs on reference sessions can be compared too; null when it cannot be loaded. */
  loadServedModel(): Promise<ServedModel | null>;
  /** Where each run gets a row (`monitoring_runs`); best effort, the report files are the record of truth. */
  openWarehouse(): Promise<Warehouse>;
  logger: Logger;
  now?: () => Date;
}

/** The monitoring activity: one run, its verdict recorded in the warehouse. */
export function createMonitoringActivities<R extends MonitorRunResult>(deps: MonitoringDeps<R>) {
  const { logger, now = () => new Date() } = deps;
  return {
    async monitor(input: { windowHours?: number }): Promise<R> {
      const served = await deps.loadServedModel().catch((e: unknown) => {
        logger.warn('served model not loadable; recommendation columns skipped', { error: (e as Error).message });
        return null;
      });
      let result: R;
      try {
        result = await deps.runMonitor({
          ...(input.windowHours ? { windowHours: input.windowHours } : {}),
          ...(served ? { recommender: served.recommender } : {}),
        });
      } finally {
        served?.dispose();
      }
      await recordRun(deps, result, now());
      return result;
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitoringActivities<MonitorRunResult>>;

/** A row per monitoring run in the warehouse; best effort (the report files are the record of truth). */
async function recordRun(deps: MonitoringDeps<MonitorRunResult>, r: MonitorRunResult, runAt: Date): Promise<void> {
  try {
    const wh = await deps.openWarehouse();
    try {
      await wh.recordMonitoringRun?.({
        runAt: runAt.toISOString(),
        modelVersion: r.modelVersion,
        datasetDrift: r.datasetDrift,
        share: r.share,
        driftShare: r.driftShare,
        referenceRows: r.referenceRows,
        currentRows: r.currentRows,
        driftedColumns: r.columns.filter((c) => c.drifted).map((c) => c.column),
        onlineHr20: r.online?.['hr@20'] ?? null,
        reportPath: r.htmlPath,
        qualityDrop: r.quality && r.quality.relativeDrop !== null ? r.quality.dropped : null,
      });
    } finally {
      await wh.close();
    }
  } catch (e) {
    deps.logger.warn('monitoring run not recorded in the warehouse', { error: (e as Error).message });
  }
}
