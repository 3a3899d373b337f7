import type { Command } from 'commander';
import { SkiffError, type ExperimentTracker, type RunStatus } from '@skiff/core';
import { compareRuns, diffManifests, type SideBySideRow } from '@skiff/registry';
import { buildRegistry, buildTracker as buildRuntimeTracker } from '@skiff/runtime';
import { createContext, type Context, type GlobalOptions } from '../context.js';

/** The experiment tracker the CLI reads (`skiff runs …`): the runtime's choice (files or MLflow). */
export function buildTracker(ctx: Context): ExperimentTracker {
  return buildRuntimeTracker(ctx.config);
}

/** A metric: `-` when missing, integers as they are, other numbers to 4 decimals. */
const fmt = (v: string | number | null | undefined): string =>
  v === null || v === undefined ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v;
/** A param or fact: numbers in full (a learning rate of 1e-5 is not 0.0000). */
const raw = (v: string | number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));

/** Prints rows as `key  a  b  [Δ]`, differing rows marked with `*`. */
function table(
  ctx: Context,
  title: string,
  heads: [string, string],
  rows: SideBySideRow[],
  options: { delta?: boolean; format?: typeof fmt } = {},
): void {
  const { delta: withDelta = false, format = fmt } = options;
  ctx.say(`${title}:`);
  if (rows.length === 0) {
    ctx.say('  (none)');
    return;
  }
  const kw = Math.max(...rows.map((r) => r.key.length), 3);
  const aw = Math.min(40, Math.max(heads[0].length, ...rows.map((r) => format(r.a).length)));
  const bw = Math.min(40, Math.max(heads[1].length, ...rows.map((r) => format(r.b).length)));
  const cut = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  ctx.say(`    ${''.padEnd(kw)}  ${cut(heads[0], aw)}  ${cut(heads[1], bw)}${withDelta ? '  Δ (b−a)' : ''}`.trimEnd());
  for (const r of rows) {
    const delta = withDelta && r.delta !== undefined ? `  ${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(4)}` : '';
    ctx.say(
      `  ${r.same ? ' ' : '*'} ${r.key.padEnd(kw)}  ${cut(format(r.a), aw)}  ${cut(format(r.b), bw)}${delta}`.trimEnd(),
    );
  }
}

/** Column heads for two things that may share a name: `name`, or `name (id…)` when they do. */
function heads(a: { name: string; id: string }, b: { name: string; id: string }): [string, string] {
  const short = (x: { name: string; id: string }) => x.name || x.id.slice(0, 8);
  if (short(a) !== short(b)) return [short(a), short(b)];
  return [`${short(a)} (${a.id.slice(0, 8)})`, `${short(b)} (${b.id.slice(0, 8)})`];
}

const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];

/** `skiff registry …`: versions, aliases, promotion and rollback by hand; `skiff runs …`: experiment runs. */
export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('model versions and aliases');
  registry
    .command('list')
    .description('every version (oldest first) with its aliases')
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const [versions, aliases] = await Promise.all([reg.list(), reg.aliases()]);
      const by = Object.entries(aliases);
      for (const m of versions) {
        const tags = by.filter(([, v]) => v === m.version).map(([a]) => a);
        ctx.say(
          `${m.version}  ${m.name.padEnd(8)} hr@20=${fmt(m.metrics['hr@20'])} mrr@20=${fmt(m.metrics['mrr@20'])}  ${m.createdAt}  ${tags.join(',')}`.trimEnd(),
        );
      }
      if (versions.length === 0) ctx.say('no model versions yet');
      ctx.result({ versions, aliases });
    });

  registry
    .command('show')
    .description('manifest of a version (files re-verified)')
    .argument('<version>', 'version id or alias')
    .action(async (v: string, _o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const { manifest, dir } = await reg.get(v);
      const aliases = Object.entries(await reg.aliases())
        .filter(([, to]) => to === manifest.version)
        .map(([a]) => a);
      ctx.say(JSON.stringify(manifest, null, 2));
      if (aliases.length) ctx.say(`aliases: ${aliases.join(', ')}`);
      ctx.result({ ...manifest, dir, aliases });
    });

  registry
    .command('promote')
    .description('point an alias at a version (recorded in alias history)')
    .argument('<version>', 'version id (or an alias, to copy its target)')
    .option('--alias <alias>', 'alias to move', 'production')
    .option('--reason <text>', 'why (kept in alias history)')
    .option('--actor <name>', 'who (default: user@host)')
    .action(async (v: string, opts: { alias: string; reason?: string; actor?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const { manifest } = await reg.get(v); // refuses a corrupted artifact before it can be served
      const previous = (await reg.aliases())[opts.alias] ?? null;
      await reg.setAlias(opts.alias, manifest.version, {
        reason: opts.reason ?? `manual promote of ${manifest.version} (skiff registry promote)`,
        ...(opts.actor ? { actor: opts.actor } : {}),
      });
      const event = (await reg.history(opts.alias)).at(-1) ?? null;
      ctx.say(`${opts.alias}: ${previous ?? '(unset)'} → ${manifest.version}`);
      ctx.result({ alias: opts.alias, version: manifest.version, previous, event });
    });

  registry
    .command('rollback')
    .description('move an alias back to its previous target (repeat to go further back)')
    .option('--alias <alias>', 'alias to move back', 'production')
    .option('--reason <text>', 'why (kept in alias history)')
    .option('--actor <name>', 'who (default: user@host)')
    .action(async (opts: { alias: string; reason?: string; actor?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const event = await reg.rollback(opts.alias, {
        ...(opts.reason ? { reason: opts.reason } : {}),
        ...(opts.actor ? { actor: opts.actor } : {}),
      });
      ctx.say(`${opts.alias}: ${event.from ?? '(unset)'} → ${event.to} (rollback)`);
      ctx.result({ alias: opts.alias, version: event.to, previous: event.from, event });
    });

  registry
    .command('history')
    .description('alias moves, oldest first: when, who, from → to, why')
    .option('--alias <alias>', 'only this alias')
    .action(async (opts: { alias?: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const events = await reg.history(opts.alias);
      for (const e of events)
        ctx.say(
          `${e.at}  ${e.alias.padEnd(10)} ${(e.from ?? '-').padEnd(6)} → ${e.to.padEnd(6)} ${e.action.padEnd(8)} ${e.actor}  ${e.reason}`,
        );
      if (events.length === 0) ctx.say('no alias moves yet');
      // Every gate decision, the ones that moved no alias too (they are kept in each version's manifest).
      const decisions = (await reg.list())
        .map((m) => ({
          version: m.version,
          at: m.createdAt,
          gate: m.params['gate'] as { promote?: string | null; reason?: string } | undefined,
        }))
        .filter(
          (d): d is { version: string; at: string; gate: { promote?: string | null; reason: string } } =>
            typeof d.gate?.reason === 'string',
        );
      if (decisions.length) ctx.say('promotion gate decisions:');
      for (const d of decisions)
        ctx.say(
          `${d.at}  ${d.version.padEnd(6)} ${d.gate.promote ? `promoted ${d.gate.promote}` : 'not promoted'}  ${d.gate.reason}`,
        );
      ctx.result({
        events,
        decisions: decisions.map((d) => ({
          version: d.version,
          at: d.at,
          promote: d.gate.promote ?? null,
          reason: d.gate.reason,
        })),
      });
    });

  registry
    .command('diff')
    .description('params, metrics, baselines and lineage of two versions side by side')
    .argument('<a>', 'version id or alias')
    .argument('<b>', 'version id or alias')
    .action(async (a: string, b: string, _o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      const [ma, mb] = await Promise.all([reg.get(a), reg.get(b)]);
      const d = diffManifests(ma.manifest, mb.manifest);
      const cols: [string, string] = [a === d.a ? d.a : `${a} (${d.a})`, b === d.b ? d.b : `${b} (${d.b})`];
      table(ctx, 'metrics', cols, d.metrics, { delta: true });
      table(ctx, 'baselines', cols, d.baselines, { delta: true });
      table(ctx, 'params', cols, d.params, { format: raw });
      table(ctx, 'lineage', cols, d.lineage, { format: raw });
      table(ctx, 'files (sha256)', cols, d.files, { format: raw });
      ctx.result(d);
    });

  const runs = program.command('runs').description('experiment runs (params, metrics, outcome)');
  runs
    .command('list')
    .description('runs, newest first')
    .option('--experiment <name>', 'only this experiment')
    .option('--status <status>', `only ${RUN_STATUSES.join('|')}`)
    .option('--limit <n>', 'at most n runs', (v) => Number(v))
    .action(async (opts: { experiment?: string; status?: string; limit?: number }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      if (opts.status !== undefined && !RUN_STATUSES.includes(opts.status as RunStatus))
        throw new SkiffError('BAD_INPUT', `--status must be one of ${RUN_STATUSES.join(', ')}`);
      if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0))
        throw new SkiffError('BAD_INPUT', '--limit must be a positive integer');
      const list = await buildTracker(ctx).listRuns({
        ...(opts.experiment ? { experiment: opts.experiment } : {}),
        ...(opts.status ? { status: opts.status as RunStatus } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      });
      for (const r of list) {
        const metrics = Object.entries(r.metrics)
          .slice(0, 4)
          .map(([k, v]) => `${k}=${fmt(v)}`)
          .join(' ');
        ctx.say(
          `${r.runId}  ${r.experiment.padEnd(10)} ${r.name.padEnd(20)} ${r.status.padEnd(8)} ${r.startedAt}  ${metrics}`,
        );
      }
      if (list.length === 0) ctx.say('no runs yet');
      ctx.result({ runs: list });
    });

  runs
    .command('show')
    .description('one run: params, latest metrics, every metric point')
    .argument('<run>', 'run id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const run = await buildTracker(ctx).getRun(id);
      ctx.say(
        `${run.runId}  ${run.experiment}/${run.name}  ${run.status}  ${run.startedAt} → ${run.endedAt ?? '…'}${run.error ? `  error: ${run.error}` : ''}`,
      );
      ctx.say('params:');
      for (const [k, v] of Object.entries(run.params)) ctx.say(`  ${k} = ${v}`);
      ctx.say('metrics (latest):');
      for (const [k, v] of Object.entries(run.metrics)) {
        const steps = run.history.filter((p) => p.key === k);
        ctx.say(
          `  ${k} = ${fmt(v)}  (${steps.length} point${steps.length === 1 ? '' : 's'}: ${steps
            .map((p) => `${p.step}:${fmt(p.value)}`)
            .slice(-8)
            .join(' ')})`,
        );
      }
      ctx.result(run);
    });

  runs
    .command('compare')
    .description('two runs side by side: outcome, params, latest metrics')
    .argument('<a>', 'run id')
    .argument('<b>', 'run id')
    .action(async (a: string, b: string, _o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const tracker = buildTracker(ctx);
      const [ra, rb] = await Promise.all([tracker.getRun(a), tracker.getRun(b)]);
      const c = compareRuns(ra, rb);
      // Attempts of one workflow share a name: the heads then carry the run ids too.
      const cols = heads({ name: ra.name, id: ra.runId }, { name: rb.name, id: rb.runId });
      table(ctx, 'run', cols, c.run, { format: (v) => (typeof v === 'number' ? fmt(v) : raw(v)) });
      table(ctx, 'metrics', cols, c.metrics, { delta: true });
      table(ctx, 'params', cols, c.params, { format: raw });
      ctx.result(c);
    });
}
