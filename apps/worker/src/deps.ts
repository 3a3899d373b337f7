import { createRequire } from 'node:module';
import { dataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger, ModelRegistry } from '@skiff/core';
import { createDuckDbWarehouse } from '@skiff/ingest';
import { createTfjsTrainer, loadAliasRecommender } from '@skiff/model';
import type { MonitorActivities } from '@skiff/orchestrator-temporal';
import { createPipelineActivities, type ActivityHooks, type PipelineDeps } from '@skiff/pipeline';
import { createFsRegistry } from '@skiff/registry';
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
  return {
    openWarehouse: () => createDuckDbWarehouse({ path: paths.warehouse, logger }),
    registry: createFsRegistry({ root: paths.registry }),
    trainer: createTfjsTrainer({ logger }),
    paths: { raw: paths.raw, snapshots: paths.snapshots, artifacts: paths.artifacts },
    logger,
    codeVersion: codeVersion(),
  };
}
// END SWAP POINT

export function buildRegistry(config: SkiffConfig): ModelRegistry {
  return createFsRegistry({ root: dataPaths(config.dataDir).registry });
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
  try {
    return await runMonitor({
      registry,
      servingLogDir: paths.servingLogs,
      snapshotsDir: paths.snapshots,
      reportsDir: paths.reports,
      logger: logger.child({ stage: 'monitor' }),
      ...(served ? { recommender: served.recommender } : {}),
      ...extra,
    });
  } finally {
    served?.dispose();
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
