import type { Command } from 'commander';
import { SkiffError } from '@skiff/core';
import { openWarehouse, openWarehouseReader, unloadLoad } from '@skiff/runtime';
import { createContext, type GlobalOptions } from '../context.js';

/** ingest, unload, transform, check, sql: the warehouse commands. */
export function registerDataCommands(program: Command): void {
  program
    .command('ingest')
    .description('load raw files (or folders) into the warehouse as one load')
    .argument(
      '[paths...]',
      'files or folders (default: the raw folder of the data dir, where an absent or empty folder is nothing new to load)',
    )
    .option('--format <format>', 'auto|ndjson|csv|parquet|yoochoose|diginetica|otto|coveo', 'auto')
    .action(async (paths: string[], opts: { format: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const wh = await openWarehouse(ctx.config, ctx.logger, {
        onProgress: (p) => ctx.say(`  … ${p.rows} rows from ${p.file}`),
      });
      try {
        const r =
          paths.length > 0
            ? await wh.load(paths, { format: opts.format })
            : await wh.load([ctx.paths.raw], { format: opts.format, allowEmpty: true });
        if (r.files.length === 0) ctx.say(`nothing new to load in ${ctx.paths.raw}`);
        for (const f of r.files)
          ctx.say(
            `${f.skipped ? 'skipped (already loaded)' : `loaded ${f.loaded}/${f.rows}, quarantined ${f.quarantined}, no event ${f.skippedRows ?? 0}`}  ${f.path}  [${f.format}${f.detectedBy ? ` by ${f.detectedBy}` : ''}]`,
          );
        ctx.say(
          `load ${r.loadId}: ${r.rows} rows, ${r.loaded} loaded, ${r.quarantined} quarantined, ${r.skippedRows ?? 0} without an event, ${r.skipped} files skipped → ${ctx.paths.warehouse}`,
        );
        ctx.result({
          loadId: r.loadId,
          files: r.files,
          rows: r.rows,
          loaded: r.loaded,
          quarantined: r.quarantined,
          skipped: r.skipped,
          skippedRows: r.skippedRows ?? 0,
        });
      } finally {
        await wh.close();
      }
    });

  program
    .command('unload')
    .description(
      'remove one load (its raw events and quarantined rows) in one transaction, record the removal and rebuild the derived tables',
    )
    .argument('<load-id>', 'the load to remove (skiff sql "SELECT * FROM loads" lists them)')
    .option('--reason <text>', 'why (recorded in the unloads table)')
    .option(
      '--force',
      'remove it even though registered versions were trained on it (they can then no longer be reproduced)',
    )
    .option('--forget-files', "also forget the files' sha256, so that the same files can be loaded again")
    .action(async (loadId: string, opts: { reason?: string; force?: boolean; forgetFiles?: boolean }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const r = await unloadLoad(ctx.config, ctx.logger, loadId, {
        force: opts.force === true,
        forgetFiles: opts.forgetFiles === true,
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
      });
      ctx.say(
        `removed load ${r.loadId}: ${r.rawEvents} events, ${r.quarantined} quarantined rows, ${r.files} files ` +
          `(${r.filesForgotten ? 'files forgotten: the same files can be loaded again' : 'files remembered: the same files are skipped if ingested again'})`,
      );
      if (r.forcedVersions.length > 0)
        ctx.say(`forced: versions ${r.forcedVersions.join(', ')} were trained on it and can no longer be reproduced`);
      for (const m of r.models) ctx.say(`${m.name.padEnd(20)} ${m.rows} rows`);
      ctx.result(r);
    });

  program
    .command('transform')
    .description('rebuild every derived table from raw_events')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const wh = await openWarehouse(ctx.config, ctx.logger);
      try {
        const r = await wh.transform();
        for (const m of r.models) ctx.say(`${m.name.padEnd(20)} ${m.rows} rows`);
        ctx.result(r);
      } finally {
        await wh.close();
      }
    });

  program
    .command('check')
    .description('run the data-quality checks (exit 1 when any fails)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const wh = await openWarehouse(ctx.config, ctx.logger);
      try {
        const r = await wh.check();
        for (const c of r.checks) ctx.say(`${c.passed ? 'PASS' : 'FAIL'}  ${c.name}  ${c.detail}`);
        ctx.result(r);
        if (!r.passed)
          throw new SkiffError(
            'DATA_QUALITY_FAILED',
            `${r.checks.filter((c) => !c.passed).length} data-quality checks failed`,
          );
      } finally {
        await wh.close();
      }
    });

  program
    .command('sql')
    .description(
      'run a read-only SQL query on a copy of the warehouse (tables: raw_events, quarantine, loads, stg_events, sessions, …); SELECT/EXPLAIN only, no file access',
    )
    .argument('<query>')
    .action(async (query: string, _opts: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      // A private copy, opened read-only with external access off: a running ingest is never
      // blocked, and a query cannot write, read other files or change settings.
      const reader = await openWarehouseReader(ctx.config);
      try {
        const rows = await reader.query(query);
        if (!ctx.json) console.table(rows.slice(0, 50));
        if (rows.length > 50) ctx.say(`… ${rows.length - 50} more rows`);
        ctx.result({ rows });
      } finally {
        await reader.close();
      }
    });
}
