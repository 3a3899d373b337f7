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
}

/**
 * Holds the served model and swaps it in one assignment, so a request sees either the old
 * or the new model, never a half-loaded one.
 */
export function createModelHolder(options: CreateModelHolderOptions): ModelHolder {
  const { registry, alias, load, logger, onSwap } = options;
  let loaded: LoadedModel | null = null;
  let inflight: Promise<{ changed: boolean; version: string | null; error?: string }> | null = null;

  async function doRefresh() {
    const target = (await registry.aliases())[alias] ?? null;
    if (target === null || target === loaded?.manifest.version) return { changed: false, version: target };
    try {
      const { manifest, dir } = await registry.get(target);
      const recommender = await load(dir, manifest);
      loaded = { recommender, manifest, known: new Set(recommender.vocabulary) };
      logger.info('model swapped in', { modelVersion: manifest.version, alias });
      onSwap?.(loaded);
      return { changed: true, version: manifest.version };
    } catch (e) {
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
