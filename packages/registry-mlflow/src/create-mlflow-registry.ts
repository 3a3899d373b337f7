import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  aliasOperations,
  formatVersion,
  parseRef,
  SkiffError,
  versionNumber,
  type AliasDecision,
  type AliasEvent,
  type ModelManifest,
  type ModelRegistry,
} from '@skiff/core';
import { defaultActor, hashFiles, isSafeEntry, sha256, verifyFiles } from '@skiff/node-io';
import {
  createMlflowClient,
  encodeKey,
  ensureExperiment,
  mlflowErrorCode,
  proxiedArtifactPath,
  type MlflowClientOptions,
} from './client.js';

export interface CreateMlflowRegistryOptions extends MlflowClientOptions {
  /** MLflow registered model holding the versions (default `skiff`). One skiff registry = one registered model. */
  modelName?: string;
  /** Experiment whose runs hold the uploaded artifact folders (default `skiff-registry`). */
  experiment?: string;
  /** Local folder where `get()` materialises verified versions (default: under the OS temp dir). */
  cacheDir?: string;
  /** Actor recorded for alias moves whose caller names none (default: `user@host`). */
  actor?: string;
  now?: () => Date;
}

interface MlflowModelVersion {
  name: string;
  version: string;
  run_id?: string;
  source?: string;
  status?: string;
  tags?: Array<{ key: string; value: string }>;
  aliases?: string[];
}

interface MlflowRegisteredModel {
  name: string;
  aliases?: Array<{ alias: string; version: string }>;
  tags?: Array<{ key: string; value: string }>;
}

/** Model-version tags written by this adapter. */
const TAG = {
  manifestSha: 'skiff.manifest_sha256',
  artifactRoot: 'skiff.artifact_root',
  name: 'skiff.name',
} as const;
/** Registered-model tags, one per alias move: `skiff.alias_history.<ms>.<seq>.<rand>` → AliasEvent JSON. */
const HISTORY_PREFIX = 'skiff.alias_history.';
const MANIFEST_FILE = 'skiff-manifest.json';
const MAX_TAG_VALUE = 5000;

const tagsOf = (tags: Array<{ key: string; value: string }> | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]));

/**
 * ModelRegistry on MLflow (REST API 2.0, Node's fetch). Mapping:
 * - a skiff version `v0003` = version 3 of the registered model `modelName`; its artifact folder
 *   is uploaded through the server's artifact proxy (`mlflow-artifacts:/…/model/`) into a run of
 *   `experiment`, with `skiff-manifest.json` beside it; the manifest's sha256 is a version tag,
 *   metrics and params are logged on that run (keys encoded, see encodeKey);
 * - aliases = MLflow registered-model aliases (moved atomically by the server);
 * - alias history = one registered-model tag per move (who/from/to/why);
 * - `get()` downloads every file, verifies its sha256 against the manifest (ARTIFACT_CORRUPTED
 *   otherwise) and returns a local folder under `cacheDir`.
 * Needs a tracking server started with `--artifacts-destination` (infra/mlflow/README.md).
 */
export function createMlflowRegistry(options: CreateMlflowRegistryOptions): ModelRegistry {
  const client = createMlflowClient(options);
  const modelName = options.modelName ?? 'skiff';
  const experimentName = options.experiment ?? 'skiff-registry';
  const now = options.now ?? (() => new Date());
  const fallbackActor = options.actor ?? defaultActor();
  const cacheDir =
    options.cacheDir ??
    path.join(
      os.tmpdir(),
      'skiff-mlflow-cache',
      createHash('sha256').update(`${client.trackingUri}|${modelName}`).digest('hex').slice(0, 16),
    );
  const manifests = new Map<string, ModelManifest>(); // versions are immutable: cache by id
  let modelReady: Promise<void> | null = null;
  let experimentId: Promise<string> | null = null;
  let seq = 0;

  function ensureModel(): Promise<void> {
    modelReady ??= client
      .post('registered-models/create', {
        name: modelName,
        description: 'skiff model versions (@skiff/registry-mlflow)',
      })
      .then(
        () => undefined,
        (e: unknown) => {
          if (mlflowErrorCode(e) !== 'RESOURCE_ALREADY_EXISTS') throw e;
        },
      )
      .catch((e: unknown) => {
        modelReady = null;
        throw e;
      });
    return modelReady;
  }

  function ensureRegistryExperiment(): Promise<string> {
    experimentId ??= ensureExperiment(client, experimentName, { 'skiff.kind': 'registry' }).catch((e: unknown) => {
      experimentId = null;
      throw e;
    });
    return experimentId;
  }

  async function getModelVersion(version: string): Promise<MlflowModelVersion> {
    try {
      return (
        await client.get<{ model_version: MlflowModelVersion }>('model-versions/get', {
          name: modelName,
          version: versionNumber(version),
        })
      ).model_version;
    } catch (e) {
      if (mlflowErrorCode(e) === 'RESOURCE_DOES_NOT_EXIST')
        throw new SkiffError('MODEL_NOT_FOUND', `model version ${version} not found in MLflow model ${modelName}`);
      throw e;
    }
  }

  async function readManifest(mv: MlflowModelVersion): Promise<ModelManifest> {
    const version = formatVersion(Number(mv.version));
    const cached = manifests.get(version);
    if (cached) return cached;
    const tags = tagsOf(mv.tags);
    const root = tags[TAG.artifactRoot];
    const sha = tags[TAG.manifestSha];
    if (!root || !sha)
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `MLflow ${modelName} version ${mv.version} was not registered by skiff (no ${TAG.manifestSha} tag)`,
      );
    const bytes = await client.getArtifact(`${root}/${MANIFEST_FILE}`).catch((e: unknown) => {
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${version} is missing from the artifact store`, {
        cause: e,
      });
    });
    if (sha256(bytes) !== sha)
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${version} does not match its recorded sha256`);
    const manifest = {
      ...(JSON.parse(Buffer.from(bytes).toString('utf8')) as Omit<ModelManifest, 'version'>),
      version,
    } as ModelManifest;
    manifests.set(version, manifest);
    return manifest;
  }

  /** Downloads and verifies every file, then publishes it as `cacheDir/<version>` (never altered in place once verified). */
  async function materialise(manifest: ModelManifest, root: string): Promise<string> {
    const final = path.join(cacheDir, manifest.version);
    const tmp = path.join(cacheDir, `.dl-${process.pid}-${randomUUID()}`);
    try {
      for (const file of Object.keys(manifest.files)) {
        // Checked before anything is written: a `../` entry would otherwise land outside the cache.
        if (!isSafeEntry(file))
          throw new SkiffError(
            'ARTIFACT_CORRUPTED',
            `manifest of ${manifest.version} names "${file.slice(0, 80)}", which is not a file inside the version folder`,
          );
        const bytes = await client.getArtifact(`${root}/model/${file}`).catch((e: unknown) => {
          if (mlflowErrorCode(e)) return new Uint8Array(); // missing → hash mismatch below
          throw e;
        });
        await mkdir(path.dirname(path.join(tmp, file)), { recursive: true });
        await writeFile(path.join(tmp, file), bytes);
      }
      await verifyFiles(tmp, manifest.files, manifest.version);
      try {
        await rename(tmp, final);
        return final;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      }
      // Already materialised (by us or another process): keep it if it is still intact.
      try {
        await verifyFiles(final, manifest.files, manifest.version);
        return final;
      } catch {
        const bad = path.join(cacheDir, `.bad-${process.pid}-${randomUUID()}`);
        await rename(final, bad);
        await rename(tmp, final);
        await rm(bad, { recursive: true, force: true });
        return final;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async function readAliases(): Promise<Record<string, string>> {
    const rm = await getRegisteredModel();
    return Object.fromEntries((rm?.aliases ?? []).map((a) => [a.alias, formatVersion(Number(a.version))]));
  }

  async function getRegisteredModel(): Promise<MlflowRegisteredModel | null> {
    try {
      return (
        await client.get<{ registered_model: MlflowRegisteredModel }>('registered-models/get', { name: modelName })
      ).registered_model;
    } catch (e) {
      if (mlflowErrorCode(e) === 'RESOURCE_DOES_NOT_EXIST') return null;
      throw e;
    }
  }

  async function readHistory(): Promise<AliasEvent[]> {
    const tags = (await getRegisteredModel())?.tags ?? [];
    return tags
      .filter((t) => t.key.startsWith(HISTORY_PREFIX))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .flatMap((t) => {
        try {
          return [JSON.parse(t.value) as AliasEvent];
        } catch {
          return [];
        }
      });
  }

  /** MLflow moves the alias itself (atomically, server-side); the history is a tag per move. */
  async function move(
    alias: string,
    decide: (current: string | undefined) => Promise<AliasDecision>,
  ): Promise<AliasEvent> {
    const current = (await readAliases())[alias];
    const { to, ...event } = await decide(current);
    await getModelVersion(to); // MODEL_NOT_FOUND for unknown versions
    const at = now();
    const full: AliasEvent = {
      at: at.toISOString(),
      alias,
      from: current ?? null,
      to,
      ...event,
      reason: event.reason.slice(0, 2000),
      actor: event.actor.slice(0, 500),
    };
    await client.post('registered-models/alias', { name: modelName, alias, version: String(versionNumber(to)) });
    const key = `${HISTORY_PREFIX}${String(at.getTime()).padStart(15, '0')}.${String(seq++).padStart(6, '0')}.${randomUUID().slice(0, 8)}`;
    const value = JSON.stringify(full);
    await client.post('registered-models/set-tag', {
      name: modelName,
      key,
      value: value.length <= MAX_TAG_VALUE ? value : JSON.stringify({ ...full, reason: full.reason.slice(0, 500) }),
    });
    return full;
  }

  return {
    async register(input) {
      if (typeof input.name !== 'string' || !input.name.trim())
        throw new SkiffError('BAD_INPUT', 'model name must be a non-empty string');
      let files: Record<string, string>;
      try {
        files = await hashFiles(input.sourceDir, ['manifest.json']);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} does not exist`);
        throw e;
      }
      if (Object.keys(files).length === 0)
        throw new SkiffError('BAD_INPUT', `artifact folder ${input.sourceDir} is empty`);
      await ensureModel();
      const expId = await ensureRegistryExperiment();
      const created = now();
      const run = (
        await client.post<{ run: { info: { run_id: string; artifact_uri: string } } }>('runs/create', {
          experiment_id: expId,
          run_name: `register-${input.name}`.slice(0, 250),
          start_time: created.getTime(),
          tags: [{ key: 'skiff.kind', value: 'registry-artifact' }],
        })
      ).run.info;
      const root = proxiedArtifactPath(run.artifact_uri);
      for (const file of Object.keys(files))
        await client.putArtifact(`${root}/model/${file}`, await readFile(path.join(input.sourceDir, file)));
      const draft: Omit<ModelManifest, 'version'> = {
        name: input.name,
        createdAt: created.toISOString(),
        params: input.params,
        metrics: input.metrics,
        baselineMetrics: input.baselineMetrics ?? {},
        lineage: input.lineage,
        files,
      };
      const manifestBytes = Buffer.from(JSON.stringify(draft, null, 2));
      await client.putArtifact(`${root}/${MANIFEST_FILE}`, manifestBytes);
      // For the MLflow UI: params and metrics on the run (the manifest stays the source of truth).
      const ts = created.getTime();
      const params = Object.entries(input.params)
        .map(([k, v]) => ({
          key: encodeKey(k).slice(0, 250),
          value: typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)),
        }))
        .filter((p) => p.value.length <= 6000)
        .slice(0, 100);
      const metrics = [
        ...Object.entries(input.metrics).map(([k, v]) => ({ key: encodeKey(k), value: v, timestamp: ts, step: 0 })),
        ...Object.entries(input.baselineMetrics ?? {}).flatMap(([b, m]) =>
          Object.entries(m).map(([k, v]) => ({
            key: encodeKey(`baseline.${b}.${k}`),
            value: v,
            timestamp: ts,
            step: 0,
          })),
        ),
      ].filter((m) => Number.isFinite(m.value));
      if (params.length || metrics.length)
        await client.post('runs/log-batch', { run_id: run.run_id, params, metrics: metrics.slice(0, 1000) });
      await client.post('runs/update', { run_id: run.run_id, status: 'FINISHED', end_time: now().getTime() });
      const mv = (
        await client.post<{ model_version: MlflowModelVersion }>('model-versions/create', {
          name: modelName,
          source: `${run.artifact_uri}/model`,
          run_id: run.run_id,
          description: `${input.name} (snapshot ${input.lineage.snapshotId}, ${input.lineage.codeVersion})`.slice(
            0,
            1000,
          ),
          tags: [
            { key: TAG.manifestSha, value: sha256(manifestBytes) },
            { key: TAG.artifactRoot, value: root },
            { key: TAG.name, value: input.name.slice(0, 250) },
          ],
        })
      ).model_version;
      const manifest: ModelManifest = { ...draft, version: formatVersion(Number(mv.version)) };
      manifests.set(manifest.version, manifest);
      return manifest;
    },

    async list() {
      const all: MlflowModelVersion[] = [];
      let pageToken: string | undefined;
      do {
        const page = await client.get<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>(
          'model-versions/search',
          {
            filter: `name='${modelName.replace(/'/g, "\\'")}'`,
            max_results: 1000,
            page_token: pageToken,
          },
        );
        all.push(...(page.model_versions ?? []));
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
      const ours = all
        .filter((mv) => tagsOf(mv.tags)[TAG.manifestSha])
        .sort((a, b) => Number(a.version) - Number(b.version));
      return Promise.all(ours.map(readManifest));
    },

    async get(versionOrAlias) {
      const ref = parseRef(versionOrAlias);
      let mv: MlflowModelVersion;
      if (ref.kind === 'version') mv = await getModelVersion(ref.version);
      else {
        try {
          mv = (
            await client.get<{ model_version: MlflowModelVersion }>('registered-models/alias', {
              name: modelName,
              alias: ref.alias,
            })
          ).model_version;
        } catch (e) {
          const code = mlflowErrorCode(e);
          if (code === 'INVALID_PARAMETER_VALUE' || code === 'RESOURCE_DOES_NOT_EXIST')
            throw new SkiffError('MODEL_NOT_FOUND', `no model version or alias named "${versionOrAlias}"`);
          throw e;
        }
      }
      const manifest = await readManifest(mv);
      const root = tagsOf(mv.tags)[TAG.artifactRoot]!;
      return { manifest, dir: await materialise(manifest, root) };
    },

    async aliases() {
      return readAliases();
    },

    ...aliasOperations({ move, readHistory, actor: fallbackActor }),
  };
}
