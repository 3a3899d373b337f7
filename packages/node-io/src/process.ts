import { open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { SkiffError } from '@skiff/core';

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

/** Who acts when a caller names nobody (alias moves, runs): `user@host`. */
export function defaultActor(): string {
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `unknown@${os.hostname()}`;
  }
}
