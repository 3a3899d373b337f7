import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { toSkiffError } from '@skiff/core';
import { registerCommands } from '../commands/index.js';

/** The built CLI (`npm run build` first), as e2e.test.ts runs it. */
export const CLI_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a child process; never throws (the exit code is in the result). */
export function runCliProcess(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs the same commands in this process (a process start costs about a second of imports, so a
 * test of dozens of commands would take a minute): a fresh commander program with main.ts's
 * global options, stdout captured, errors turned into main.ts's one-line `skiff: CODE: reason`.
 * Calls must not overlap (stdout is swapped while one runs).
 */
export async function runCliInProcess(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command();
  program
    .name('skiff')
    .option('--data-dir <dir>', 'data folder (env SKIFF_DATA_DIR)', undefined)
    .option('--json', 'print one JSON object as the last line of stdout')
    .option('--log-level <level>', 'trace|debug|info|warn|error|silent (env SKIFF_LOG_LEVEL)')
    .option('--log-format <format>', 'auto|json (env SKIFF_LOG_FORMAT)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  registerCommands(program);
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  let code = 0;
  try {
    await program.parseAsync(['node', 'skiff', ...args]);
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode || 1;
    else {
      const se = toSkiffError(e);
      err.push(`skiff: ${se.code}: ${se.message.split('\n').join('\n  ')}\n`);
      code = 1;
    }
  } finally {
    process.stdout.write = write;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}
