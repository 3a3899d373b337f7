import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '@skiff/core';

/** Every model kind an artifact folder can hold. */
export const MODEL_KINDS = ['gru4rec', 'sasrec', 'pop', 'sr', 'vsknn', 'stan', 'vstan'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export function isModelKind(v: unknown): v is ModelKind {
  return typeof v === 'string' && (MODEL_KINDS as readonly string[]).includes(v);
}

/** `config.json` of every artifact: the kind decides the loader. GRU4Rec configs written before kinds existed have none. */
export interface ArtifactConfig<P = unknown> {
  kind: ModelKind;
  params: P;
}

/** Writes files atomically (tmp + rename) into `dir`; returns their names in order. */
export async function writeArtifactFiles(
  dir: string,
  files: ReadonlyArray<readonly [string, string | Uint8Array]>,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  for (const [name, body] of files) {
    const tmp = path.join(dir, `.${name}.tmp`);
    await writeFile(tmp, body);
    await rename(tmp, path.join(dir, name));
  }
  return files.map(([n]) => n);
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
