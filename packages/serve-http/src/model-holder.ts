import type { Logger, ModelManifest, ModelRegistry, Recommender } from '@skiff/core';

export interface LoadedModel {
  recommender: Recommender;
  manifest: ModelManifest;
  /** The vocabulary as a set, built once per swap rather than per request. */
  known: ReadonlySet<string>;
}

export interface ModelHolder {
  current(): LoadedModel | null;
  /** Loads the alias' version if it changed; a version that fails to load leaves the old one serving. */
  refresh(): Promise<{ changed: boolean; version: string | null; error?: string }>;
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

  async function doRefresh() {
    const target = (await registry.aliases())[alias] ?? null;
    if (target === null || target === loaded?.manifest.version || target === failed) return { changed: false, version: loaded?.manifest.version ?? null };
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
      logger.error('model failed to load; keeping the current one', { target, current: loaded?.manifest.version ?? null, error: (e as Error).message });
      return { changed: false, version: loaded?.manifest.version ?? null, error: (e as Error).message };
    }
  }

  return {
    current: () => loaded,
    refresh() {
      inflight ??= doRefresh().finally(() => {
        inflight = null;
      });
      return inflight;
    },
  };
}
