import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '@skiff/core';

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file in hex, read as a stream (raw logs and weights can be large). */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)
    h.update(chunk);
  return h.digest('hex');
}

/** Relative paths (with `/`) of every regular file under `dir`, sorted; `exclude` names are skipped at the top level. */
export async function listFiles(dir: string, exclude: readonly string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => !exclude.includes(f))
    .sort();
}

/** sha256 of every file of a folder, by relative path. */
export async function hashFiles(dir: string, exclude: readonly string[] = []): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const f of await listFiles(dir, exclude)) files[f] = await sha256File(path.join(dir, f));
  return files;
}

/** A manifest entry is a plain relative path below its folder: no `..`, no absolute path, no `\\`, no empty or `.` segment. */
export function isSafeEntry(file: string): boolean {
  if (typeof file !== 'string' || file === '' || file.includes('\\') || file.includes('\0') || file.startsWith('/'))
    return false;
  return file.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/**
 * Checks that `dir` holds exactly the files of `expected` (besides `exclude`), each with its
 * sha256: an extra file, a missing one, an entry outside the folder or a changed byte is refused
 * with ARTIFACT_CORRUPTED naming the first problem.
 */
export async function verifyFiles(
  dir: string,
  expected: Record<string, string>,
  label: string,
  exclude: readonly string[] = [],
): Promise<void> {
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected))
    throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${label} has no file list`);
  for (const [file, want] of Object.entries(expected)) {
    if (!isSafeEntry(file) || exclude.includes(file))
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `manifest of ${label} names "${file.slice(0, 80)}", which is not a file inside the version folder`,
      );
    if (typeof want !== 'string' || !/^[0-9a-f]{64}$/.test(want))
      throw new SkiffError('ARTIFACT_CORRUPTED', `manifest of ${label} has no sha256 for ${file}`);
  }
  const present = await listFiles(dir, exclude);
  const extra = present.filter((f) => !Object.hasOwn(expected, f));
  if (extra.length)
    throw new SkiffError(
      'ARTIFACT_CORRUPTED',
      `artifact ${label} holds files its manifest does not list: ${extra.slice(0, 5).join(', ')}`,
    );
  // Symlinks and other non-regular entries are not files of an artifact (listFiles skips them).
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const odd = entries
    .filter((e) => !e.isFile() && !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  if (odd.length)
    throw new SkiffError(
      'ARTIFACT_CORRUPTED',
      `artifact ${label} holds entries that are not regular files: ${odd.slice(0, 5).join(', ')}`,
    );
  for (const [file, want] of Object.entries(expected)) {
    const actual = await sha256File(path.join(dir, file)).catch(() => 'missing');
    if (actual !== want)
      throw new SkiffError(
        'ARTIFACT_CORRUPTED',
        `artifact ${label}/${file} does not match its manifest (sha256 ${actual.slice(0, 12)} ≠ ${want.slice(0, 12)})`,
      );
  }
}
