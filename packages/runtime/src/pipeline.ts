import { createRequire } from 'node:module';
import path from 'node:path';
import { dataPaths, pipelineSettings, type SkiffConfig } from '@skiff/config';
import type { ExperimentTracker, Logger, ModelRegistry, Warehouse, WarehouseReader } from '@skiff/core';
import { createDuckDbReader, createDuckDbWarehouse, verifySnapshotDir } from '@skiff/ingest';
import { backendFallbackReason, createTfjsTrainer, initBackend, setBackendPreference } from '@skiff/model';
import { createReproductionActivities, type PipelineDeps, type ReproductionActivities } from '@skiff/pipeline';
import { createFsRegistry, createFsTracker } from '@skiff/registry';
import { createMlflowRegistry, createMlflowTracker } from '@skiff/registry-mlflow';

/** The code version stored in every manifest's lineage. */
export function codeVersion(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return `skiff@${pkg.version}`;
}

/**
 * SWAP POINT: warehouse — the DuckDB file under the data dir (docs/swapping.md#warehouse). Every
 * rebuild of the derived tables (`skiff transform`, `skiff unload`, the pipeline's transform)
 * splits with the configured rule (SKIFF_SPLIT_*), never the adapter's default.
 */
export function openWarehouse(
  config: SkiffConfig,
  logger: Logger,
  options: { onProgress?: (p: { file: string; rows: number }) => void } = {},
): Promise<Warehouse> {
  return createDuckDbWarehouse({
    path: dataPaths(config.dataDir).warehouse,
    logger,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
    split: pipelineSettings(config).split,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** The warehouse opened read-only, for ad-hoc SQL (`skiff sql`). */
export function openWarehouseReader(config: SkiffConfig): Promise<WarehouseReader> {
  return createDuckDbReader({ path: dataPaths(config.dataDir).warehouse });
}

/**
 * The tfjs backend this process trains on (chosen once per process from config: native TensorFlow
 * when it loads, else WASM), and why it is WASM when it is.
 */
export async function trainingBackend(config: SkiffConfig): Promise<{ backend: string; whyNotNative: string | null }> {
  setBackendPreference(config.tfBackend);
  const { backend } = await initBackend();
  return {
    backend,
    whyNotNative: backend === 'tensorflow' ? null : (backendFallbackReason() ?? `SKIFF_TF_BACKEND=${config.tfBackend}`),
  };
}

/**
 * Composition root of the pipeline: which adapter backs which port.
 * SWAP POINT: warehouse, registry, trainer — see docs/swapping.md
 */
export function buildPipelineDeps(config: SkiffConfig, logger: Logger): PipelineDeps {
  const paths = dataPaths(config.dataDir);
  setBackendPreference(config.tfBackend);
  return {
    openWarehouse: () => openWarehouse(config, logger),
    registry: buildRegistry(config),
    tracker: buildTracker(config),
    trainer: createTfjsTrainer({ logger }),
    paths: {
      raw: paths.raw,
      snapshots: paths.snapshots,
      artifacts: paths.artifacts,
      ...(config.ingestOnlineEvents ? { online: paths.onlineEvents } : {}),
    },
    logger,
    codeVersion: codeVersion(),
  };
}
// END SWAP POINT

/** SWAP POINT: registry — the file-system registry, or MLflow when SKIFF_MLFLOW_TRACKING_URI is set (docs/swapping.md#registry). */
export function buildRegistry(config: SkiffConfig): ModelRegistry {
  return config.mlflowTrackingUri
    ? createMlflowRegistry({
        trackingUri: config.mlflowTrackingUri,
        modelName: 'skiff',
        cacheDir: path.join(config.dataDir, 'registry-cache'),
      })
    : createFsRegistry({ root: dataPaths(config.dataDir).registry });
}

/** SWAP POINT: experiment tracking — files under data/runs, or MLflow runs. */
export function buildTracker(config: SkiffConfig): ExperimentTracker {
  return config.mlflowTrackingUri
    ? createMlflowTracker({ trackingUri: config.mlflowTrackingUri })
    : createFsTracker({ root: dataPaths(config.dataDir).runs });
}

/** Reproduction of registered versions over this config's adapters; `notify` gets the human-readable lines. */
export function buildReproduction(
  config: SkiffConfig,
  logger: Logger,
  notify?: (line: string) => void,
): ReproductionActivities {
  const deps = buildPipelineDeps(config, logger);
  const paths = dataPaths(config.dataDir);
  return createReproductionActivities({
    registry: deps.registry,
    trainer: deps.trainer,
    openWarehouse: deps.openWarehouse,
    verifySnapshot: verifySnapshotDir,
    paths: { snapshots: paths.snapshots, artifacts: paths.artifacts, warehouse: paths.warehouse },
    logger,
    ...(notify ? { notify } : {}),
  });
}
