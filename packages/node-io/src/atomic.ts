import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file atomically: readers see the old content or the new, never half of it. The temp
 * file sits in the same folder (rename is atomic only within one file system), its name starts
 * with `.` and ends in `.tmp` so that no reader that globs the folder (Evidently's snapshot scan,
 * `*.ndjson`) picks it up, and it is removed when the write or the rename fails.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes several files into `dir`, each atomically, in order; returns their names. */
export async function writeFilesAtomic(
  dir: string,
  files: ReadonlyArray<readonly [string, string | Uint8Array]>,
): Promise<string[]> {
  for (const [name, body] of files) await writeFileAtomic(path.join(dir, name), body);
  return files.map(([n]) => n);
}
