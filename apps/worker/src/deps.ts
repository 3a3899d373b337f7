import { createRequire } from 'node:module';
import { dataPaths, type SkiffConfig } from '@skiff/config';
import type { Logger, ModelRegistry } from '@skiff/core';
import { createDuckDbWarehouse } from '@skiff/ingest';
import { createTfjsTrainer } from '@skiff/model';
import type { MonitorActivities } from '@skiff/orchestrator-temporal';
import { createPipelineActivities, type ActivityHooks, type PipelineDeps } from '@skiff/pipeline';
import { createFsRegistry } from '@skiff/registry';
import { runMonitor } from '@skiff/monitoring';
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

export function buildActivities(config: SkiffConfig, logger: Logger, hooks: ActivityHooks = {}) {
  const deps = buildPipelineDeps(config, logger);
  const paths = dataPaths(config.dataDir);
  const monitor: MonitorActivities = {
    monitor: (input) =>
      runMonitor({
        registry: deps.registry,
        servingLogDir: paths.servingLogs,
        snapshotsDir: paths.snapshots,
        reportsDir: paths.reports,
        logger: logger.child({ stage: 'monitor' }),
        ...(input.windowHours ? { windowHours: input.windowHours } : {}),
      }),
  };
  const alerter = createWebhookAlerter({ url: config.alertWebhookUrl, logger: logger.child({ stage: 'alert' }) });
  return { ...createPipelineActivities(deps, hooks), ...monitor, ...alerter };
}
