import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError, type DatasetSnapshot, type SplitRule } from '@skiff/core';

/** Snapshot files and content-addressed snapshot ids: how `snapshot()` names what it writes, and how a stored folder is re-verified. */

/** One split file of a snapshot (`train.json`, `validation.json`, `test.json`). */
export interface SnapshotSplitFile {
  /** Item sequences, one per session, ordered by session start. */
  sessions: string[][];
  /** ISO-8601 UTC start time of each session, aligned with `sessions`. */
  startedAt: string[];
  /** ISO-8601 UTC time of the last event of each session, aligned with `sessions` (absent in older snapshots). */
  endedAt?: string[];
}

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/**
 * The content address of a snapshot: sha256 over its load ids, the item sequences and start times
 * of each split (train, validation, test) and the exact text of items.json, first 12 hex digits.
 */
export function computeSnapshotId(
  loadIds: readonly string[],
  sessions: Record<Split, string[][]>,
  startedAt: Record<Split, string[]>,
  itemsJson: string,
  rule?: SplitRule,
): string {
  const seqs = { train: sessions.train, validation: sessions.validation, test: sessions.test };
  const starts = { train: startedAt.train, validation: startedAt.validation, test: startedAt.test };
  const h = createHash('sha256')
    .update(JSON.stringify(loadIds))
    .update(JSON.stringify(seqs))
    .update(JSON.stringify(starts))
    .update(itemsJson);
  // The split rule too (when recorded): two rules that happen to cut the same way are still two
  // snapshots, each folder holding the rule it was made with.
  if (rule) h.update(JSON.stringify(rule));
  return `snap-${h.digest('hex').slice(0, 12)}`;
}

/** What `verifySnapshotDir` found: the recorded description and the id its files hash to. */
export interface SnapshotVerification {
  snapshot: DatasetSnapshot;
  /** The id recomputed from the split files and items.json. */
  computedId: string;
  /** `computedId` equals the recorded `snapshotId` (and the folder's name, when it is named by id). */
  ok: boolean;
}

/**
 * Re-reads a snapshot folder (snapshot.json, train/validation/test.json, items.json) and recomputes
 * its id the way `snapshot()` derives it. Missing or unreadable files are BAD_INPUT.
 */
export async function verifySnapshotDir(dir: string): Promise<SnapshotVerification> {
  const read = (f: string) =>
    readFile(path.join(dir, f), 'utf8').catch((e: unknown) => {
      throw new SkiffError(
        'BAD_INPUT',
        `snapshot ${dir}: cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    });
  const parse = <T>(f: string, text: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SkiffError('BAD_INPUT', `snapshot ${dir}: ${f} is not valid JSON`);
    }
  };
  const snapshot = parse<DatasetSnapshot>('snapshot.json', await read('snapshot.json'));
  const sessions = {} as Record<Split, string[][]>;
  const startedAt = {} as Record<Split, string[]>;
  for (const s of SPLITS) {
    const f = parse<Partial<SnapshotSplitFile>>(`${s}.json`, await read(`${s}.json`));
    sessions[s] = f.sessions ?? [];
    startedAt[s] = f.startedAt ?? [];
  }
  const computedId = computeSnapshotId(
    snapshot.loadIds ?? [],
    sessions,
    startedAt,
    await read('items.json'),
    snapshot.split?.rule,
  );
  const base = path.basename(path.resolve(dir));
  const ok = computedId === snapshot.snapshotId && (!base.startsWith('snap-') || base === computedId);
  return { snapshot, computedId, ok };
}
