import type { Logger, ModelManifest, ModelRegistry, Recommender } from '@skiff/core';

export interface LoadedModel {
  recommender: Recommender;
  manifest: ModelManifest;
  /** The vocabulary as a set, built once per swap rather than per request. */
  known: ReadonlySet<string>;
}

/** The registry poll's own state: the served model stays while the registry cannot be read. */
export interface RegistryPollHealth {
  /** The last poll's error while polls fail (unreadable or corrupt alias file, MLflow down …). */
  error: string | null;
  /** When polls started failing (ISO), null when the last poll succeeded. */
  since: string | null;
  /** Failed polls since start. */
  failures: number;
}

export interface ModelHolder {
  current(): LoadedModel | null;
  /**
   * Loads the alias' version if it changed; a version that fails to load leaves the old one
   * serving. Never rejects: a registry that cannot be read is reported in `error` and health().
   */
  refresh(): Promise<{ changed: boolean; version: string | null; error?: string }>;
  health?(): RegistryPollHealth;
}

export interface CreateModelHolderOptions {
  registry: ModelRegistry;
  alias: string;
  /** Turns a verified artifact folder into a recommender (the model package's loader). */
  load: (dir: string, manifest: ModelManifest) => Promise<Recommender>;
  logger: Logger;
  onSwap?: (m: LoadedModel) => void;
  /** Called when a version fails to load, verify or warm up (it is not served). */
  onLoadError?: (version: string, error: Error) => void;
}

/**
 * Holds the served model and swaps it in one assignment, so a request sees either the old
 * or the new model, never a half-loaded one.
 */
export function createModelHolder(options: CreateModelHolderOptions): ModelHolder {
  const { registry, alias, load, logger, onSwap, onLoadError } = options;
  /** A version that failed is not retried on every poll, only when the alias moves again. */
  let failed: string | null = null;
  let loaded: LoadedModel | null = null;
  let inflight: Promise<{ changed: boolean; version: string | null; error?: string }> | null = null;
  const poll: RegistryPollHealth = { error: null, since: null, failures: 0 };

  async function doRefresh() {
    let target: string | null;
    try {
      const aliases = await registry.aliases();
      const t = aliases[alias];
      if (t !== undefined && typeof t !== 'string') throw new Error(`alias ${alias} does not name a version`);
      target = t ?? null;
      if (poll.error !== null) logger.info('registry readable again', { alias, failedPolls: poll.failures });
      poll.error = null;
      poll.since = null;
    } catch (e) {
      poll.failures++;
      if (poll.error === null) {
        poll.since = new Date().toISOString();
        logger.error('registry poll failed; keeping the current model', {
          alias,
          current: loaded?.manifest.version ?? null,
          error: (e as Error).message,
        });
      }
      poll.error = (e as Error).message;
      return { changed: false, version: loaded?.manifest.version ?? null, error: poll.error };
    }
    if (target === null || target === loaded?.manifest.version || target === failed)
      return { changed: false, version: loaded?.manifest.version ?? null };
    try {
      // registry.get re-hashes every file: a corrupted artifact never reaches load().
      const { manifest, dir } = await registry.get(target);
      const recommender = await load(dir, manifest);
      // Warm up (first-call compilation, allocations) before the model takes traffic.
      recommender.recommend(recommender.vocabulary.slice(0, 3), 20);
      recommender.recommendBatch([recommender.vocabulary.slice(0, 2)], 20);
      loaded = { recommender, manifest, known: new Set(recommender.vocabulary) };
      failed = null;
      logger.info('model swapped in', { modelVersion: manifest.version, alias });
      onSwap?.(loaded);
      return { changed: true, version: manifest.version };
    } catch (e) {
      failed = target;
      onLoadError?.(target, e as Error);
      logger.error('model failed to load; keeping the current one', {
        target,
        current: loaded?.manifest.version ?? null,
        error: (e as Error).message,
      });
      return { changed: false, version: loaded?.manifest.version ?? null, error: (e as Error).message };
    }
  }

  return {
    current: () => loaded,
    health: () => ({ ...poll }),
    refresh() {
      inflight ??= doRefresh().finally(() => {
        inflight = null;
      });
      return inflight;
    },
  };
}
