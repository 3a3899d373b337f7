import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isModelKind, SkiffError, type ModelKind } from '@skiff/core';

/** `config.json` of every artifact: the kind decides the loader. GRU4Rec configs written before kinds existed have none. */
export interface ArtifactConfig<P = unknown> {
  kind: ModelKind;
  params: P;
}

export async function readArtifactJson<T>(dir: string, file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path.join(dir, file), 'utf8');
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `cannot read ${file} in ${dir}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SkiffError('ARTIFACT_CORRUPTED', `${file} in ${dir} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The kind stored in `dir/config.json`; a config without `kind` is a GRU4Rec artifact (the format before kinds). */
export async function readModelKind(dir: string): Promise<ModelKind> {
  const config = await readArtifactJson<{ kind?: unknown }>(dir, 'config.json');
  if (config.kind === undefined) return 'gru4rec';
  if (!isModelKind(config.kind))
    throw new SkiffError(
      'ARTIFACT_CORRUPTED',
      `unknown model kind ${JSON.stringify(config.kind)} in ${dir}/config.json`,
    );
  return config.kind;
}
