import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  SkiffError,
  TrainParamsSchema,
  type DatasetSnapshot,
  type Logger,
  type ModelManifest,
  type ModelRegistry,
  type Trainer,
  type TrainParams,
  type Warehouse,
} from '@skiff/core';

/** What re-reading a stored snapshot folder found: its recorded description and the id its files hash to. */
export interface SnapshotVerification {
  snapshot: DatasetSnapshot;
  computedId: string;
  /** `computedId` is the recorded id. */
  ok: boolean;
}

/** Everything a reproduction needs, built by the composition root (`@skiff/runtime`). */
export interface ReproductionDeps {
  registry: ModelRegistry;
  trainer: Trainer;
  /** The warehouse, to rebuild a snapshot from its recorded loads (`snapshotFromLoads`). */
  openWarehouse: () => Promise<Warehouse>;
  /** Recomputes a stored snapshot folder's id the way the warehouse derives it. */
  verifySnapshot: (dir: string) => Promise<SnapshotVerification>;
  /** `warehouse`: where the warehouse lives (it is only opened when it exists). */
  paths: { snapshots: string; artifacts: string; warehouse: string };
  logger: Logger;
  /** Human-readable progress and warnings (the CLI prints them). */
  notify?: (line: string) => void;
}

/** Where the snapshot a reproduction trains on came from. */
export interface ReproductionSnapshot {
  snapshot: DatasetSnapshot;
  /** `folder`: the stored snapshot folder, re-hashed; `rebuilt`: rebuilt from the recorded loads. */
  source: 'folder' | 'rebuilt';
  recordedId: string;
  /** The id its files hash to (folder) or the rebuilt snapshot's id. */
  computedId: string;
  /** `computedId` is the recorded id. */
  matches: boolean;
}

export interface ReproductionResult {
  version: string;
  snapshotId: string;
  snapshot: { source: 'folder' | 'rebuilt'; recordedId: string; computedId: string; matches: boolean; dir: string };
  backend: { original: string; reproduced: string };
  metrics: Record<string, { original: number; reproduced: number; diff: number }>;
  /** null when the reproduction lacks a metric the original has. */
  maxAbsDiff: number | null;
  artifactDir: string;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The training params a manifest recorded: core's TrainParams plus the baselines' own settings. */
export function recordedTrainParams(manifest: ModelManifest): TrainParams {
  const params = TrainParamsSchema.parse(manifest.params);
  const extra = Object.fromEntries(
    ['sr', 'vsknn', 'stan', 'vstan']
      .filter((k) => manifest.params[k] !== undefined)
      .map((k) => [k, manifest.params[k]]),
  );
  return { ...params, ...extra };
}

/** Retraining a registered version from what its manifest recorded. */
export function createReproductionActivities(deps: ReproductionDeps) {
  const notify = deps.notify ?? ((line: string) => deps.logger.info(line));

  /**
   * The dataset snapshot a version was trained on: its stored folder when it is still there (its id
   * recomputed from the files), else rebuilt from the warehouse over the version's recorded
   * `lineage.loadIds` only. A mismatch with the recorded `lineage.snapshotId` is refused unless `force`.
   */
  async function reproductionSnapshot(
    manifest: ModelManifest,
    options: { force: boolean },
  ): Promise<ReproductionSnapshot> {
    const { snapshotId: recordedId, loadIds } = manifest.lineage;
    const dir = path.join(deps.paths.snapshots, recordedId);
    if (await exists(dir)) {
      const v = await deps.verifySnapshot(dir);
      if (!v.ok) {
        const what = `snapshot folder ${dir} of ${manifest.version} does not match its id: its files hash to ${v.computedId}, not ${recordedId}`;
        if (!options.force)
          throw new SkiffError(
            'BAD_INPUT',
            `${what}. Delete the folder to rebuild it from loads ${loadIds.join(', ')}, or pass --force to train on it as it is`,
          );
        notify(`WARNING: ${what}; training on it anyway (--force)`);
      }
      // The recorded paths may be those of another machine or data dir: use this folder's files.
      const snapshot: DatasetSnapshot = {
        ...v.snapshot,
        dir,
        files: {
          train: path.join(dir, 'train.json'),
          validation: path.join(dir, 'validation.json'),
          test: path.join(dir, 'test.json'),
        },
      };
      return { snapshot, source: 'folder', recordedId, computedId: v.computedId, matches: v.ok };
    }
    if (loadIds.length === 0)
      throw new SkiffError(
        'BAD_INPUT',
        `snapshot ${recordedId} of ${manifest.version} is gone (${dir}) and its manifest records no loads to rebuild it from`,
      );
    if (!(await exists(deps.paths.warehouse)))
      throw new SkiffError(
        'BAD_INPUT',
        `snapshot ${recordedId} of ${manifest.version} is gone (${dir}) and there is no warehouse at ${deps.paths.warehouse} to rebuild it from loads ${loadIds.join(', ')}`,
      );
    notify(`snapshot ${recordedId} is gone: rebuilding it from loads ${loadIds.join(', ')}`);
    const wh = await deps.openWarehouse();
    let snapshot: DatasetSnapshot;
    try {
      if (!wh.snapshotFromLoads)
        throw new SkiffError(
          'BAD_INPUT',
          `this warehouse cannot rebuild a snapshot from loads (snapshot ${recordedId} of ${manifest.version} is gone: ${dir})`,
        );
      snapshot = await wh.snapshotFromLoads(
        loadIds,
        deps.paths.snapshots,
        manifest.lineage.split ? { split: manifest.lineage.split.rule } : {},
      );
    } finally {
      await wh.close();
    }
    const matches = snapshot.snapshotId === recordedId;
    if (!matches) {
      const what = `the snapshot rebuilt from loads ${loadIds.join(', ')} is ${snapshot.snapshotId}, not the recorded ${recordedId} of ${manifest.version} (raw rows or transform SQL changed since)`;
      if (!options.force) throw new SkiffError('BAD_INPUT', `${what}; pass --force to train on ${snapshot.dir} anyway`);
      notify(`WARNING: ${what}; training on it anyway (--force)`);
    }
    return { snapshot, source: 'rebuilt', recordedId, computedId: snapshot.snapshotId, matches };
  }

  return {
    /**
     * Retrains a registered version from what its manifest recorded (the dataset snapshot of its
     * loads, params, seed) and reports each metric next to the original. Nothing is registered.
     */
    async reproduce(input: { version: string; force?: boolean }): Promise<ReproductionResult> {
      const { manifest } = await deps.registry.get(input.version);
      const snap = await reproductionSnapshot(manifest, { force: Boolean(input.force) });
      const { snapshot } = snap;
      const params = recordedTrainParams(manifest);
      notify(
        `reproducing ${manifest.version} (${params.model}, seed ${params.seed}) from ${snapshot.snapshotId} (${snap.source === 'folder' ? 'stored folder, id re-verified' : 'rebuilt from the recorded loads'}), loads ${manifest.lineage.loadIds.join(', ')}`,
      );
      const outDir = path.join(deps.paths.artifacts, `reproduce-${manifest.version}-${Date.now()}`);
      const out = await deps.trainer.train({ snapshot, params, outDir });
      const ev = await deps.trainer.evaluate({ snapshot, artifactDir: out.artifactDir, ks: [10, 20] });
      const metrics = Object.fromEntries(
        Object.entries(manifest.metrics).map(([k, original]) => {
          const reproduced = ev.metrics[k] ?? NaN;
          return [k, { original, reproduced, diff: reproduced - original }];
        }),
      );
      const diffs = Object.values(metrics).map((m) => Math.abs(m.diff));
      // A metric the reproduction lacks (NaN) is the largest difference there is.
      const maxAbsDiff = diffs.length === 0 ? 0 : diffs.some(Number.isNaN) ? null : Math.max(...diffs);
      return {
        version: manifest.version,
        snapshotId: snapshot.snapshotId,
        snapshot: {
          source: snap.source,
          recordedId: snap.recordedId,
          computedId: snap.computedId,
          matches: snap.matches,
          dir: snapshot.dir,
        },
        backend: { original: manifest.lineage.backend, reproduced: out.backend },
        metrics,
        maxAbsDiff,
        artifactDir: out.artifactDir,
      };
    },
  };
}

export type ReproductionActivities = ReturnType<typeof createReproductionActivities>;
