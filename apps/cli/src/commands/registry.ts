import type { Command } from 'commander';
import { buildRegistry } from '@skiff/worker';
import { createContext, type GlobalOptions } from '../context.js';

/** `skiff registry …`: versions, aliases, promotion by hand. */
export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('model versions and aliases');
  registry.command('list').action(async (_o: unknown, cmd: Command) => {
    const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
    const reg = buildRegistry(ctx.config);
    const [versions, aliases] = await Promise.all([reg.list(), reg.aliases()]);
    const by = Object.entries(aliases);
    for (const m of versions) {
      const tags = by.filter(([, v]) => v === m.version).map(([a]) => a);
      ctx.say(`${m.version}  ${m.name.padEnd(8)} hr@20=${(m.metrics['hr@20'] ?? NaN).toFixed(4)} mrr@20=${(m.metrics['mrr@20'] ?? NaN).toFixed(4)}  ${m.createdAt}  ${tags.join(',')}`);
    }
    if (versions.length === 0) ctx.say('no model versions yet');
    ctx.result({ versions, aliases });
  });
  registry
    .command('show')
    .argument('<version>', 'version id or alias')
    .action(async (v: string, _o: unknown, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const { manifest, dir } = await buildRegistry(ctx.config).get(v);
      ctx.say(JSON.stringify(manifest, null, 2));
      ctx.result({ ...manifest, dir });
    });
  registry
    .command('promote')
    .argument('<version>')
    .option('--alias <alias>', 'alias to move', 'production')
    .action(async (v: string, opts: { alias: string }, cmd: Command) => {
      const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
      const reg = buildRegistry(ctx.config);
      await reg.get(v);
      await reg.setAlias(opts.alias, v);
      ctx.say(`${opts.alias} → ${v}`);
      ctx.result({ alias: opts.alias, version: v });
    });
}
