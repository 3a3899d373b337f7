#!/usr/bin/env node
/**
 * `skiff` — the command line (docs/design.md, The command line). Every command takes --data-dir and --json; with
 * --json the last line of stdout is one JSON object. Errors: non-zero exit, one line on stderr.
 */
import { Command } from 'commander';
import { toSkiffError } from '@skiff/core';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('skiff')
  .description('A reasonable-scale MLOps loop for a session-based recommender')
  .option('--data-dir <dir>', 'data folder (env SKIFF_DATA_DIR)', undefined)
  .option('--json', 'print one JSON object as the last line of stdout')
  .option('--log-level <level>', 'trace|debug|info|warn|error|silent (env SKIFF_LOG_LEVEL)')
  .option(
    '--log-format <format>',
    'auto: JSON logs to a file under <data-dir>/logs when stderr is a terminal, else stderr; json: always stderr (env SKIFF_LOG_FORMAT)',
  )
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = toSkiffError(err);
  process.stderr.write(`skiff: ${e.code}: ${e.message.split('\n').join('\n  ')}\n`);
  process.exit(1);
});
