import { createRequire } from 'node:module';
import { dataPaths, type SkiffConfig } from '@skiff/config';
import path from 'node:path';
import type { ExperimentTracker, Logger, ModelRegistry } from '@skiff/core';
import { createDuckDbWarehouse } from '@skiff/ingest';
import { createTfjsTrainer, loadAliasRecommender, setBackendPreference } from '@skiff/model';
import type { MonitorActivities } from '@skiff/orchestrator-temporal';
import { createPipelineActivities, type ActivityHooks, type PipelineDeps } from '@skiff/pipeline';
import { createFsRegistry, createFsTracker } from '@skiff/registry';
import { createMlflowRegistry, createMlflowTracker } from '@skiff/registry-mlflow';
import { runMonitor, type RunMonitorOptions } from '@skiff/monitoring';
import { createWebhookAlerter } from './alerts.js';

/** The code version stored in every manifest's lineage. */
export function codeVersion(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return `skiff@${pkg.version}`;
}

/**
 * Composition root of the pipeline: which adapter backs which port.
 * SWAP POINT: warehouse, registry, trainer — see docs/swapping.md
 */
export function buildPipelineDeps(config: SkiffConfig, logger: Logger): PipelineDeps {
  const paths = dataPaths(config.dataDir);
  setBackendPreference(config.tfBackend);
  return {
    openWarehouse: () => createDuckDbWarehouse({ path: paths.warehouse, logger, maxClockSkewSeconds: config.maxClockSkewSeconds }),
    registry: buildRegistry(config),
    tracker: buildTracker(config),
    trainer: createTfjsTrainer({ logger }),
    paths: { raw: paths.raw, snapshots: paths.snapshots, artifacts: paths.artifacts, ...(config.ingestOnlineEvents ? { online: paths.onlineEvents } : {}) },
    logger,
    codeVersion: codeVersion(),
  };
}
// END SWAP POINT

/** SWAP POINT: registry — the file-system registry, or MLflow when SKIFF_MLFLOW_TRACKING_URI is set (docs/swapping.md#registry). */
export function buildRegistry(config: SkiffConfig): ModelRegistry {
  return config.mlflowTrackingUri
    ? createMlflowRegistry({ trackingUri: config.mlflowTrackingUri, modelName: 'skiff', cacheDir: path.join(config.dataDir, 'registry-cache') })
    : createFsRegistry({ root: dataPaths(config.dataDir).registry });
}

/** SWAP POINT: experiment tracking — files under data/runs, or MLflow runs. */
export function buildTracker(config: SkiffConfig): ExperimentTracker {
  return config.mlflowTrackingUri ? createMlflowTracker({ trackingUri: config.mlflowTrackingUri }) : createFsTracker({ root: dataPaths(config.dataDir).runs });
}

/**
 * One monitoring run over this data dir: the production model's training snapshot vs the serving
 * log, with the served model loaded so that its outputs on reference sessions can be compared too.
 */
export async function monitorOnce(config: SkiffConfig, logger: Logger, extra: Partial<RunMonitorOptions> = {}) {
  const paths = dataPaths(config.dataDir);
  const registry = buildRegistry(config);
  const served = await loadAliasRecommender(registry).catch((e: unknown) => {
    logger.warn('served model not loadable; recommendation columns skipped', { error: (e as Error).message });
    return null;
  });
  let result: Awaited<ReturnType<typeof runMonitor>>;
  try {
    result = await runMonitor({
      registry,
      servingLogDir: paths.servingLogs,
      eventsDir: paths.onlineEvents,
      snapshotsDir: paths.snapshots,
      reportsDir: paths.reports,
      logger: logger.child({ stage: 'monitor' }),
      ...(served ? { recommender: served.recommender } : {}),
      qualityGate: { metric: config.qualityMetric, maxRelativeDrop: config.qualityMaxDrop, minEvents: config.qualityMinEvents },
      ...extra,
    });
  } finally {
    served?.dispose();
  }
  await recordRun(config, logger, result);
  return result;
}

/** A row per monitoring run in the warehouse; best effort (the report files are the record of truth). */
async function recordRun(config: SkiffConfig, logger: Logger, r: Awaited<ReturnType<typeof runMonitor>>): Promise<void> {
  try {
    const wh = await createDuckDbWarehouse({ path: dataPaths(config.dataDir).warehouse, logger });
    try {
      await wh.recordMonitoringRun?.({
        runAt: new Date().toISOString(),
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
    logger.warn('monitoring run not recorded in the warehouse', { error: (e as Error).message });
  }
}

export function buildActivities(config: SkiffConfig, logger: Logger, hooks: ActivityHooks = {}) {
  const deps = buildPipelineDeps(config, logger);
  const monitor: MonitorActivities = {
    monitor: (input) => monitorOnce(config, logger, input.windowHours ? { windowHours: input.windowHours } : {}),
  };
  const alerter = createWebhookAlerter({ url: config.alertWebhookUrl, logger: logger.child({ stage: 'alert' }) });
  return { ...createPipelineActivities(deps, hooks), ...monitor, ...alerter };
}
