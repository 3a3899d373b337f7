import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SkiffError } from '@skiff/core';

/**
 * Characters that make DuckDB's file readers treat a path as a pattern (`*`, `?`, `[…]`, `**`) or
 * that a later DuckDB might (`{…}`, `\`): with them, `read_csv('x[1].ndjson')` reads `x1.ndjson`.
 */
const PATTERN_CHARS = /[*?[\]{}\\]/;

/** True when DuckDB could read `file` as something else than that one file. */
export function needsLiteralAlias(file: string): boolean {
  return PATTERN_CHARS.test(file);
}

/**
 * Runs `fn` with a path that DuckDB reads as exactly `file`. A name without pattern characters is
 * passed as it is; any other is reached through a symlink with a plain name in a private temporary
 * folder (removed afterwards), because DuckDB has no escape for its glob characters.
 */
export async function withLiteralPath<T>(file: string, fn: (readable: string) => Promise<T>): Promise<T> {
  if (!needsLiteralAlias(file)) return fn(file);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-literal-'));
  try {
    const alias = path.join(dir, `input${path.extname(file).replace(PATTERN_CHARS, '_')}`);
    if (needsLiteralAlias(alias))
      throw new SkiffError(
        'BAD_INPUT',
        `cannot give DuckDB a literal path for ${file}: the temporary folder ${dir} itself holds a pattern character`,
      );
    await symlink(path.resolve(file), alias);
    return await fn(alias);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
