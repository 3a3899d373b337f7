import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  aliasOperations,
  assertVersion,
  formatVersion,
  isVersion,
  parseAliasEvent,
  parseRef,
  SHA256_RE,
  SkiffError,
  type AliasDecision,
  type AliasEvent,
  type ModelManifest,
  type ModelRegistry,
} from '@skiff/core';
import { defaultActor, hashFiles, sha256, verifyFiles, withFileLock, writeFileAtomic } from '@skiff/node-io';

interface AliasEntry {
  version: string;
  manifestSha256: string | null;
}

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

  /**
   * aliases.json: `{ alias: { version, manifestSha256 } }`. The pin is the sha256 of the target's
   * manifest when the alias moved; a bare version string (files written before pins) is unpinned.
   */
  async function readAliasEntries(): Promise<Record<string, AliasEntry>> {
    let text: string;
    try {
      text = await readFile(aliasFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new SkiffError('ARTIFACT_CORRUPTED', `${aliasFile} is not valid JSON: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new SkiffError('ARTIFACT_CORRUPTED', `${aliasFile} is not a JSON object`);
    const out: Record<string, AliasEntry> = {};
    for (const [alias, v] of Object.entries(raw as Record<string, unknown>)) {
      const entry = typeof v === 'string' ? { version: v, manifestSha256: null } : (v as Partial<AliasEntry> | null);
      if (
        !entry ||
        typeof entry.version !== 'string' ||
        !isVersion(entry.version) ||
        (entry.manifestSha256 !== null &&
          (typeof entry.manifestSha256 !== 'string' || !SHA256_RE.test(entry.manifestSha256)))
      )
        throw new SkiffError(
          'ARTIFACT_CORRUPTED',
          `${aliasFile}: alias "${alias.slice(0, 80)}" does not name a version with a manifest sha256`,
        );
      out[alias] = { version: entry.version, manifestSha256: entry.manifestSha256 ?? null };
    }
    return out;
  }

  async function readAliases(): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await readAliasEntries()).map(([a, e]) => [a, e.version]));
  }

  async function versionIds(): Promise<string[]> {
    const entries = await readdir(versionsDir).catch(() => [] as string[]);
    return entries.filter(isVersion).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  /** The manifest and the sha256 of its bytes; its version must be the folder's. */
  async function readManifestWithDigest(version: string): Promise<{ manifest: ModelManifest; digest: string }> {
    assertVersion(version);
    let bytes: Buffer;
    let manifest: ModelManifest;
    try {
      bytes = await readFile(path.join(versionsDir, version, 'manifest.json'));
      manifest = JSON.parse(bytes.toString('utf8')) as ModelManifest;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SkiffError('MODEL_NOT_FOUND', `model version ${version} not found`);
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${version} is unreadable`, { cause: e });
    }
    if (typeof manifest !== 'object' || manifest === null || manifest.version !== version)
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `manifest in folder ${version} says version "${String((manifest as ModelManifest | null)?.version).slice(0, 40)}"`,
      );
    return { manifest, digest: sha256(bytes) };
  }

  async function readManifest(version: string): Promise<ModelManifest> {
    return (await readManifestWithDigest(version)).manifest;
  }

  /**
   * The pin of a version: the manifest sha256 its latest pinned alias move recorded (aliases.json
   * first, then history), or null when no alias ever pinned it.
   */
  async function pinOf(
    version: string,
    entries: Record<string, AliasEntry>,
  ): Promise<{ sha: string; by: string } | null> {
    for (const [alias, e] of Object.entries(entries))
      if (e.version === version && e.manifestSha256) return { sha: e.manifestSha256, by: `alias ${alias}` };
    const pinned = (await readHistory()).filter((e) => e.to === version && e.manifestSha256);
    const last = pinned.at(-1);
    return last?.manifestSha256 ? { sha: last.manifestSha256, by: `the ${last.alias} move of ${last.at}` } : null;
  }

  /**
   * Everything get() and an alias move check: the manifest matches its pin, names exactly the files
   * of the folder (none outside it), and every file matches its sha256.
   */
  async function verifyVersion(
    version: string,
    pin: { sha: string; by: string } | null,
  ): Promise<{ manifest: ModelManifest; dir: string; digest: string }> {
    const { manifest, digest } = await readManifestWithDigest(version);
    if (pin && pin.sha !== digest)
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `manifest of ${version} was changed after ${pin.by} pinned it (sha256 ${digest.slice(0, 12)} ≠ ${pin.sha.slice(0, 12)})`,
      );
    const dir = path.join(versionsDir, version);
    await verifyFiles(dir, manifest.files, version, ['manifest.json']);
    return { manifest, dir, digest };
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
  async function move(
    alias: string,
    decide: (current: string | undefined) => Promise<AliasDecision>,
  ): Promise<AliasEvent> {
    await mkdir(root, { recursive: true });
    return withFileLock(lockFile, async () => {
      const entries = await readAliasEntries();
      const current = entries[alias]?.version;
      const change = await decide(current);
      // Refuses unknown and tampered versions; the alias then pins the manifest it was checked with.
      const { digest } = await verifyVersion(change.to, await pinOf(change.to, entries));
      const event: AliasEvent = {
        at: now().toISOString(),
        alias,
        from: current ?? null,
        ...change,
        manifestSha256: digest,
      };
      entries[alias] = { version: change.to, manifestSha256: digest };
      await writeFileAtomic(aliasFile, JSON.stringify(entries, null, 2));
      await appendFile(historyFile, JSON.stringify(event) + '\n');
      return event;
    });
  }

  return {
    async register(input) {
      if (typeof input.name !== 'string' || !input.name.trim())
        throw new SkiffError('BAD_INPUT', 'model name must be a non-empty string');
      await mkdir(versionsDir, { recursive: true });
      const staging = path.join(root, `.staging-${process.pid}-${randomUUID()}`);
      try {
        try {
          await cp(input.sourceDir, staging, { recursive: true, dereference: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT')
            throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} does not exist`);
          throw e;
        }
        const files = await hashFiles(staging, ['manifest.json']);
        if (Object.keys(files).length === 0)
          throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} is empty`);
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
      const entries = await readAliasEntries();
      const entry = ref.kind === 'alias' ? entries[ref.alias] : undefined;
      const version = ref.kind === 'version' ? ref.version : entry?.version;
      if (!version) throw new SkiffError('MODEL_NOT_FOUND', `no model version or alias named "${versionOrAlias}"`);
      const pin =
        ref.kind === 'alias' && entry?.manifestSha256
          ? { sha: entry.manifestSha256, by: `alias ${ref.alias}` }
          : await pinOf(version, entries);
      const { manifest, dir } = await verifyVersion(version, pin);
      return { manifest, dir };
    },

    async aliases() {
      return readAliases();
    },

    ...aliasOperations({ move, readHistory, actor: fallbackActor }),
  };
}
