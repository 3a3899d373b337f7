import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where tests and benches find the public data samples (YooChoose rsc15-100k, Diginetica, OTTO),
 * which are not redistributable and so not in the repository (data/README.md, Public data).
 * Looked for, in this order:
 * 1. `SKIFF_PUBLIC_DATA_DIR/<sample>` — the folder holding the sample folders;
 * 2. `SKIFF_YOOCHOOSE_DIR` — the YooChoose folder itself (for `yoochoose-rsc15-100k` only);
 * 3. `shared/data/<sample>` next to the repository, or next to its parent folder (a git worktree).
 * `env` is the environment to read (tests and benches pass `process.env`).
 */

/** The repository root: this file is in packages/testing/src or packages/testing/dist. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const YOOCHOOSE_SAMPLE = 'yoochoose-rsc15-100k';

export interface PublicDataLookup {
  /** The sample's folder, or null when none of the places holds it (with every file asked for). */
  dir: string | null;
  /** Every place looked in, in order (for a skip message). */
  looked: string[];
}

/** The places a sample is looked for, in order. */
export function publicDataCandidates(sample: string, env: Record<string, string | undefined> = {}): string[] {
  const out: string[] = [];
  const base = env['SKIFF_PUBLIC_DATA_DIR'];
  if (base) out.push(path.resolve(base, sample));
  const yoochoose = env['SKIFF_YOOCHOOSE_DIR'];
  if (sample === YOOCHOOSE_SAMPLE && yoochoose) out.push(path.resolve(yoochoose));
  out.push(path.resolve(REPO_ROOT, '..', 'shared', 'data', sample));
  out.push(path.resolve(REPO_ROOT, '..', '..', 'shared', 'data', sample));
  return out;
}

/** The first place that holds every one of `files` of `sample` (none asked: the folder exists). */
export function findPublicData(
  sample: string,
  files: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): PublicDataLookup {
  const looked = publicDataCandidates(sample, env);
  const dir = looked.find((d) => existsSync(d) && files.every((f) => existsSync(path.join(d, f)))) ?? null;
  return { dir, looked };
}

/** One line for a skipped test or bench: what was missing and where it was looked for. */
export function publicDataSkipReason(sample: string, lookup: PublicDataLookup): string {
  return `public data ${sample} not found (set SKIFF_PUBLIC_DATA_DIR to the folder holding it; looked in ${lookup.looked.join(', ')})`;
}
