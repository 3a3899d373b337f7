import { readFile } from 'node:fs/promises';
import { SkiffError } from '@skiff/core';

/** A snapshot split file with each session's time in seconds, when the file has them. */
export interface TimedSplit {
  sessions: string[][];
  /** Seconds since the epoch, aligned with `sessions`; undefined when the file has no `startedAt`. */
  times?: number[];
}

/**
 * Reads a snapshot split file (`{ sessions, startedAt? }`). The kNN kinds need a time per training
 * session for their recency; a snapshot records when each session started (not its last event —
 * sessions last minutes, the recency scales are hours to days). A file without `startedAt` (written
 * before it existed) gives no times; a `startedAt` that is not one ISO time per session is refused
 * rather than guessed around.
 */
export async function readTimedSplit(file: string): Promise<TimedSplit> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new SkiffError('BAD_INPUT', `cannot read split ${file}: ${(e as Error).message}`);
  }
  const { sessions, startedAt } = (raw ?? {}) as { sessions?: unknown; startedAt?: unknown };
  if (!Array.isArray(sessions) || !sessions.every((s) => Array.isArray(s) && s.every((i) => typeof i === 'string'))) {
    throw new SkiffError('BAD_INPUT', `split ${file}: "sessions" must be an array of item-id arrays`);
  }
  if (startedAt === undefined) return { sessions: sessions as string[][] };
  if (!Array.isArray(startedAt) || startedAt.length !== sessions.length) {
    throw new SkiffError('BAD_INPUT', `split ${file}: "startedAt" must have one time per session (${sessions.length})`);
  }
  const times = startedAt.map((t, i) => {
    const ms = typeof t === 'string' ? Date.parse(t) : NaN;
    if (!Number.isFinite(ms)) throw new SkiffError('BAD_INPUT', `split ${file}: startedAt[${i}] is not an ISO time: ${JSON.stringify(t)}`);
    return ms / 1000;
  });
  return { sessions: sessions as string[][], times };
}
