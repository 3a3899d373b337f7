import type { SkiffConfig } from '@skiff/config';
import { SkiffError, type Logger, type UnloadResult } from '@skiff/core';
import { buildRegistry, openWarehouse } from './pipeline.js';

export interface UnloadLoadOptions {
  /** Remove the load even though registered versions were trained on it (they are recorded with the removal). */
  force?: boolean;
  reason?: string;
  actor?: string;
  /** Also forget the files' sha256 so that the same bytes can be loaded again. */
  forgetFiles?: boolean;
}

export interface UnloadLoadResult extends UnloadResult {
  /** Registered versions whose lineage names the load (non-empty only when forced). */
  forcedVersions: string[];
}

/**
 * Removes one load from the warehouse (`skiff unload`). A load in the lineage of a registered
 * version is refused unless forced: that version could no longer be reproduced (its snapshot is
 * rebuilt from its loads) and its lineage would name rows that are gone.
 */
export async function unloadLoad(
  config: SkiffConfig,
  logger: Logger,
  loadId: string,
  options: UnloadLoadOptions = {},
): Promise<UnloadLoadResult> {
  const registry = buildRegistry(config);
  const [versions, aliases] = await Promise.all([registry.list(), registry.aliases()]);
  const built = versions.filter((m) => m.lineage.loadIds.includes(loadId)).map((m) => m.version);
  if (built.length > 0 && !options.force) {
    const named = built.map((v) => {
      const on = Object.entries(aliases)
        .filter(([, target]) => target === v)
        .map(([alias]) => alias);
      return on.length > 0 ? `${v} (${on.join(', ')})` : v;
    });
    throw new SkiffError(
      'BAD_INPUT',
      `load ${loadId} is in the lineage of registered version${built.length === 1 ? '' : 's'} ${named.join(', ')}: ` +
        'without it they cannot be reproduced and their lineage names rows that are gone. ' +
        'Train and promote a version without it first, or pass --force to remove it anyway',
      { details: { loadId, versions: built } },
    );
  }
  const warehouse = await openWarehouse(config, logger);
  try {
    if (!warehouse.unload)
      throw new SkiffError('INTERNAL', 'this warehouse adapter cannot remove a load', { retryable: false });
    const r = await warehouse.unload(loadId, {
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.actor !== undefined ? { actor: options.actor } : {}),
      forgetFiles: options.forgetFiles === true,
      forcedVersions: built,
    });
    return { ...r, forcedVersions: built };
  } finally {
    await warehouse.close();
  }
}
