import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, type ModelManifest, type ModelRegistry } from '@skiff/core';

export interface CreateFsRegistryOptions {
  /** Folder holding `versions/` and `aliases.json`. */
  root: string;
  /** Injected clock, for tests. */
  now?: () => Date;
}

const VERSION_RE = /^v\d{4,}$/;

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .filter((f) => f !== 'manifest.json')
    .sort();
}

/** Writes a file atomically: readers see the old or the new content, never half of it. */
async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/**
 * File-system model registry (port: ModelRegistry). A version is an immutable folder
 * `versions/vNNNN/` with the artifact files and a manifest holding the sha256 of each;
 * aliases (`production`, `staging`) live in one JSON file replaced atomically.
 */
export function createFsRegistry(options: CreateFsRegistryOptions): ModelRegistry {
  const { root, now = () => new Date() } = options;
  const versionsDir = path.join(root, 'versions');
  const aliasFile = path.join(root, 'aliases.json');

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
    return entries.filter((v) => VERSION_RE.test(v)).sort();
  }

  async function readManifest(version: string): Promise<ModelManifest> {
    try {
      return JSON.parse(await readFile(path.join(versionsDir, version, 'manifest.json'), 'utf8')) as ModelManifest;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SkiffError('MODEL_NOT_FOUND', `model version ${version} not found`);
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${version} is unreadable`, { cause: e });
    }
  }

  return {
    async register(input) {
      await mkdir(versionsDir, { recursive: true });
      const staging = path.join(root, `.staging-${process.pid}-${Date.now()}`);
      await cp(input.sourceDir, staging, { recursive: true });
      const files: Record<string, string> = {};
      for (const f of await listFiles(staging)) files[f] = await sha256(path.join(staging, f));
      if (Object.keys(files).length === 0) throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} is empty`);
      // Claim the next version number by renaming into place; a concurrent writer that won the
      // same number makes rename fail and we try the next one.
      for (let attempt = 0; attempt < 100; attempt++) {
        const ids = await versionIds();
        const last = ids.at(-1);
        const version = `v${String((last ? Number(last.slice(1)) : 0) + 1).padStart(4, '0')}`;
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
      await rm(staging, { recursive: true, force: true });
      throw new SkiffError('INTERNAL', 'could not claim a version number after 100 attempts');
    },

    async list() {
      return Promise.all((await versionIds()).map(readManifest));
    },

    async get(versionOrAlias) {
      const aliases = await readAliases();
      const version = VERSION_RE.test(versionOrAlias) ? versionOrAlias : aliases[versionOrAlias];
      if (!version) throw new SkiffError('MODEL_NOT_FOUND', `no model version or alias named "${versionOrAlias}"`);
      const manifest = await readManifest(version);
      const dir = path.join(versionsDir, version);
      for (const [file, expected] of Object.entries(manifest.files)) {
        const actual = await sha256(path.join(dir, file)).catch(() => 'missing');
        if (actual !== expected)
          throw new SkiffError('ARTIFACT_CORRUPTED', `artifact ${version}/${file} does not match its manifest (sha256 ${actual.slice(0, 12)} ≠ ${expected.slice(0, 12)})`);
      }
      return { manifest, dir };
    },

    async setAlias(alias, version) {
      if (VERSION_RE.test(alias)) throw new SkiffError('BAD_INPUT', `alias "${alias}" looks like a version id`);
      await readManifest(version);
      const aliases = await readAliases();
      const previous = aliases[alias];
      aliases[alias] = version;
      await atomicWrite(aliasFile, JSON.stringify(aliases, null, 2));
      // History makes `registry rollback` possible and records who pointed where, when.
      await appendFile(
        path.join(root, 'alias-history.ndjson'),
        JSON.stringify({ at: now().toISOString(), alias, version, previous: previous ?? null }) + '\n',
      );
    },

    async aliases() {
      return readAliases();
    },
  };
}
