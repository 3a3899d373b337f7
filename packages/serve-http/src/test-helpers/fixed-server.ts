/** What the serving tests share: a registry of fixed-list models, a real server on it, JSON posts. */
import path from 'node:path';
import { silentLogger, type Lineage, type ModelRegistry, type Recommender } from '@skiff/core';
import { startServer, type RunningServer, type StartServerOptions } from '../server.js';
// @ts-expect-error plain JS helper shared with the child process
import { loadFixed, writeFixedArtifact } from './fixed-model.mjs';

/** Loads a fixed-list model artifact (the serving app's `load`). */
export const load = loadFixed as (dir: string) => Promise<Recommender>;
/** Writes a fixed-list model artifact that always recommends `items`, in order. */
export const writeArtifact = writeFixedArtifact as (dir: string, items: string[]) => Promise<void>;
export const lineage: Lineage = { snapshotId: 's', loadIds: [], codeVersion: 'test', backend: 'none' };

/** Writes a fixed-list artifact to `dir` and registers it; returns the version. */
export async function register(reg: ModelRegistry, dir: string, items: string[]): Promise<string> {
  await writeArtifact(dir, items);
  return (await reg.register({ name: 'fixed', sourceDir: dir, metrics: {}, params: {}, lineage })).version;
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** A real server on 127.0.0.1 (a free port) serving `registry`'s production alias, its log under `dir/log`. */
export function startFixedServer(
  registry: ModelRegistry,
  dir: string,
  options: Partial<StartServerOptions> = {},
): Promise<RunningServer> {
  return startServer({
    registry,
    load,
    servingLogDir: path.join(dir, 'log'),
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    pollMs: 10,
    ...options,
  });
}
