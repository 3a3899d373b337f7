import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '@skiff/core';

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
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

/** A manifest entry is a plain relative path below the version folder: no `..`, no absolute path, no `\\`, no empty or `.` segment. */
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

/** Writes a file atomically: readers see the old or the new content, never half of it. */
export async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Cross-process mutual exclusion on one host: `lockFile` is created with O_EXCL and holds the
 * owner's pid. A lock whose owner is dead (same host) or older than `staleMs` is broken.
 */
export async function withFileLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 30_000, staleMs = 60_000 } = options;
  const started = Date.now();
  for (let i = 0; ; i++) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const [st, owner] = await Promise.all([
      stat(lockFile).catch(() => null),
      readFile(lockFile, 'utf8').catch(() => ''),
    ]);
    const pid = Number(owner.trim());
    if (st && (Date.now() - st.mtimeMs > staleMs || (Number.isInteger(pid) && pid > 0 && !alive(pid)))) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() - started > timeoutMs)
      throw new SkiffError('INTERNAL', `timed out after ${timeoutMs} ms waiting for ${lockFile}`);
    await sleep(Math.min(50, 2 + i) * (0.5 + Math.random()));
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}
