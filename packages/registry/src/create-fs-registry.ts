import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, type AliasEvent, type ModelManifest, type ModelRegistry } from '@skiff/core';
import { atomicWrite, hashFiles, verifyFiles, withFileLock } from './files.js';
import { assertAlias, assertVersion, defaultActor, formatVersion, isVersion, parseAliasEvent, parseRef, rollbackTarget, aliasHistory } from './names.js';

export interface CreateFsRegistryOptions {
  /** Folder holding `versions/`, `aliases.json` and `alias-history.ndjson`. */
  root: string;
  /** Injected clock, for tests. */
  now?: () => Date;
  /** Actor recorded for alias moves whose caller names none (default: `user@host`). */
  actor?: string;
}

/**
 * File-system model registry (port: ModelRegistry). A version is an immutable folder
 * `versions/vNNNN/` with the artifact files and a manifest holding the sha256 of each;
 * aliases (`production`, `staging`) live in one JSON file replaced atomically, and every move
 * is appended to `alias-history.ndjson` (who, from, to, why). Alias writers serialise on a lock
 * file, so two processes promoting at once both end up in history in a consistent order.
 */
export function createFsRegistry(options: CreateFsRegistryOptions): ModelRegistry {
  const { root, now = () => new Date() } = options;
  const fallbackActor = options.actor ?? defaultActor();
  const versionsDir = path.join(root, 'versions');
  const aliasFile = path.join(root, 'aliases.json');
  const historyFile = path.join(root, 'alias-history.ndjson');
  const lockFile = path.join(root, 'aliases.lock');

  async function readAliases(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(aliasFile, 'utf8')) as Record<string, string>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
  }

  async function versionIds(): Promise<string[]> {
    const entries = await readdir(versionsDir).catch(() => [] as string[]);
    return entries.filter(isVersion).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  async function readManifest(version: string): Promise<ModelManifest> {
    assertVersion(version);
    try {
      return JSON.parse(await readFile(path.join(versionsDir, version, 'manifest.json'), 'utf8')) as ModelManifest;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SkiffError('MODEL_NOT_FOUND', `model version ${version} not found`);
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${version} is unreadable`, { cause: e });
    }
  }

  async function readHistory(): Promise<AliasEvent[]> {
    let text: string;
    try {
      text = await readFile(historyFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map(parseAliasEvent)
      .filter((e): e is AliasEvent => e !== null);
  }

  /** Moves an alias under the lock: aliases.json first (the truth), then the history line. */
  async function move(alias: string, decide: (current: string | undefined) => Promise<Omit<AliasEvent, 'at' | 'alias' | 'from'>>): Promise<AliasEvent> {
    await mkdir(root, { recursive: true });
    return withFileLock(lockFile, async () => {
      const aliases = await readAliases();
      const current = aliases[alias];
      const change = await decide(current);
      await readManifest(change.to); // refuses unknown versions
      const event: AliasEvent = { at: now().toISOString(), alias, from: current ?? null, ...change };
      aliases[alias] = change.to;
      await atomicWrite(aliasFile, JSON.stringify(aliases, null, 2));
      await appendFile(historyFile, JSON.stringify(event) + '\n');
      return event;
    });
  }

  return {
    async register(input) {
      if (typeof input.name !== 'string' || !input.name.trim()) throw new SkiffError('BAD_INPUT', 'model name must be a non-empty string');
      await mkdir(versionsDir, { recursive: true });
      const staging = path.join(root, `.staging-${process.pid}-${randomUUID()}`);
      try {
        try {
          await cp(input.sourceDir, staging, { recursive: true, dereference: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} does not exist`);
          throw e;
        }
        const files = await hashFiles(staging, ['manifest.json']);
        if (Object.keys(files).length === 0) throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} is empty`);
        // Claim the next version number by renaming into place; a concurrent writer (another
        // process) that won the same number makes rename fail and we try the next one.
        for (let attempt = 0; attempt < 1000; attempt++) {
          const last = (await versionIds()).at(-1);
          const version = formatVersion((last ? Number(last.slice(1)) : 0) + 1);
          const manifest: ModelManifest = {
            name: input.name,
            version,
            createdAt: now().toISOString(),
            params: input.params,
            metrics: input.metrics,
            baselineMetrics: input.baselineMetrics ?? {},
            lineage: input.lineage,
            files,
          };
          await writeFile(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
          try {
            await rename(staging, path.join(versionsDir, version));
            return manifest;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
          }
        }
        throw new SkiffError('INTERNAL', 'could not claim a version number after 1000 attempts');
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },

    async list() {
      return Promise.all((await versionIds()).map(readManifest));
    },

    async get(versionOrAlias) {
      const ref = parseRef(versionOrAlias);
      const version = ref.kind === 'version' ? ref.version : (await readAliases())[ref.alias];
      if (!version) throw new SkiffError('MODEL_NOT_FOUND', `no model version or alias named "${versionOrAlias}"`);
      const manifest = await readManifest(version);
      const dir = path.join(versionsDir, version);
      await verifyFiles(dir, manifest.files, version);
      return { manifest, dir };
    },

    async setAlias(alias, version, opts = {}) {
      assertAlias(alias);
      assertVersion(version);
      await move(alias, async () => ({
        to: version,
        actor: opts.actor ?? fallbackActor,
        reason: opts.reason ?? `set ${alias} to ${version}`,
        action: 'set',
      }));
    },

    async aliases() {
      return readAliases();
    },

    async history(alias) {
      return aliasHistory(await readHistory(), alias);
    },

    async rollback(alias, opts = {}) {
      assertAlias(alias);
      return move(alias, async (current) => {
        const to = rollbackTarget(await readHistory(), alias, current);
        return { to, actor: opts.actor ?? fallbackActor, reason: opts.reason ?? `rollback of ${alias} from ${current} to ${to}`, action: 'rollback' };
      });
    },
  };
}
