import { SkiffError } from './errors.js';
import type { AliasChangeOptions, AliasEvent, ModelRegistry } from './ports.js';

/**
 * The rules of the ModelRegistry and ExperimentTracker ports that do not depend on what stores
 * them: ids and names, alias history and rollback, metric checks, and the alias moves themselves.
 * Every adapter (the folder on disk, MLflow …) uses these, so the same ids and the same refusals
 * hold whatever backs the port.
 */
/** Version ids: `v` + at least four digits (`v0001`). */
export const VERSION_RE = /^v\d{4,12}$/;
/** Alias names (`production`, `staging` …). */
export const ALIAS_RE = /^[a-z][a-z0-9_-]{0,63}$/;
/** Anything that looks like a version (`v1`, `v0001`) is not an alias; nor is `latest` (MLflow reserves it). */
const RESERVED_ALIAS_RE = /^(v\d+|latest)$/;
/** A sha256 in hex, as manifests and pins hold it. */
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** Run ids: opaque, but safe as a folder name and in a URL. */
export const RUN_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Experiment names: printable, no path separators. */
export const EXPERIMENT_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/;

export function formatVersion(n: number): string {
  return `v${String(n).padStart(4, '0')}`;
}

export function versionNumber(version: string): number {
  assertVersion(version);
  return Number(version.slice(1));
}

export function isVersion(s: string): boolean {
  return VERSION_RE.test(s);
}

export function assertVersion(version: string): void {
  if (typeof version !== 'string' || !VERSION_RE.test(version))
    throw new SkiffError(
      'BAD_INPUT',
      `"${String(version).slice(0, 80)}" is not a version id (expected v0001, v0002 …)`,
    );
}

export function assertAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS_RE.test(alias))
    throw new SkiffError(
      'BAD_INPUT',
      `"${String(alias).slice(0, 80)}" is not a valid alias (expected ${ALIAS_RE.source})`,
    );
  if (RESERVED_ALIAS_RE.test(alias))
    throw new SkiffError('BAD_INPUT', `alias "${alias}" is reserved (looks like a version id or is "latest")`);
}

/** Classifies a `get()` argument; refuses anything that is neither (e.g. `../etc`). */
export function parseRef(ref: string): { kind: 'version'; version: string } | { kind: 'alias'; alias: string } {
  if (typeof ref === 'string' && VERSION_RE.test(ref)) return { kind: 'version', version: ref };
  try {
    assertAlias(ref);
  } catch {
    throw new SkiffError(
      'BAD_INPUT',
      `"${String(ref).slice(0, 80)}" is neither a version id (v0001) nor an alias (${ALIAS_RE.source})`,
    );
  }
  return { kind: 'alias', alias: ref };
}

export function assertRunId(runId: string): void {
  if (typeof runId !== 'string' || !RUN_ID_RE.test(runId))
    throw new SkiffError('BAD_INPUT', `"${String(runId).slice(0, 80)}" is not a run id`);
}

export function assertExperiment(name: string): void {
  if (typeof name !== 'string' || !EXPERIMENT_RE.test(name))
    throw new SkiffError('BAD_INPUT', `"${String(name).slice(0, 80)}" is not a valid experiment name`);
}

/** Params are stored as strings (MLflow's model): strings as they are, anything else as JSON. */
export function paramToString(value: unknown): string {
  if (typeof value === 'string') return value;
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s;
}

/** Refuses non-finite metric values and bad steps (neither JSON nor MLflow carry them faithfully). */
export function assertMetrics(metrics: Record<string, number>, step: number): void {
  if (!Number.isInteger(step) || step < 0)
    throw new SkiffError('BAD_INPUT', `metric step must be a non-negative integer, got ${step}`);
  for (const [k, v] of Object.entries(metrics)) {
    if (!k || k.length > 250) throw new SkiffError('BAD_INPUT', `bad metric name "${k.slice(0, 80)}"`);
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new SkiffError('BAD_INPUT', `metric ${k} must be a finite number, got ${String(v)}`);
  }
}

/**
 * The version `rollback(alias)` moves to: history is replayed as a stack (a `set` pushes its
 * target, a `rollback` pops), so repeated rollbacks walk further back. `current` is the alias's
 * actual target, which wins over history if the two disagree (e.g. a move whose history line was
 * lost in a crash).
 */
export function rollbackTarget(events: readonly AliasEvent[], alias: string, current: string | undefined): string {
  if (!current) throw new SkiffError('BAD_INPUT', `alias "${alias}" is not set: nothing to roll back`);
  const stack: string[] = [];
  for (const e of events) {
    if (e.alias !== alias) continue;
    if (e.action === 'rollback') stack.pop();
    if (stack.at(-1) !== e.to) stack.push(e.to);
  }
  if (stack.at(-1) !== current) stack.push(current);
  const target = stack.at(-2);
  if (!target) throw new SkiffError('BAD_INPUT', `alias "${alias}" has no earlier target to roll back to`);
  return target;
}

/** Accepts both the current history line shape and the first one (`{ at, alias, version, previous }`). */
export function parseAliasEvent(line: string): AliasEvent | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null; // a torn last line after a crash
  }
  if (typeof o['alias'] !== 'string' || typeof o['at'] !== 'string') return null;
  const to = typeof o['to'] === 'string' ? o['to'] : typeof o['version'] === 'string' ? o['version'] : null;
  if (!to) return null;
  const fromRaw = 'from' in o ? o['from'] : o['previous'];
  return {
    at: o['at'],
    alias: o['alias'],
    from: typeof fromRaw === 'string' ? fromRaw : null,
    to,
    actor: typeof o['actor'] === 'string' ? o['actor'] : 'unknown',
    reason: typeof o['reason'] === 'string' ? o['reason'] : '',
    action: o['action'] === 'rollback' ? 'rollback' : 'set',
    ...(typeof o['manifestSha256'] === 'string' && SHA256_RE.test(o['manifestSha256'])
      ? { manifestSha256: o['manifestSha256'] }
      : {}),
  };
}

/** The alias history of every adapter: all moves, or those of one (validated) alias. */
export function aliasHistory(events: AliasEvent[], alias?: string): AliasEvent[] {
  if (alias === undefined) return events;
  assertAlias(alias);
  return events.filter((e) => e.alias === alias);
}

/** The move an alias operation decides on, once it knows the alias's current target. */
export type AliasDecision = Omit<AliasEvent, 'at' | 'alias' | 'from' | 'manifestSha256'>;

/** What an adapter provides for the alias operations: how it moves an alias and reads its history. */
export interface AliasStore {
  /**
   * Moves `alias` to the version `decide` picks given its current target (undefined when unset),
   * refusing unknown versions, records the event in the history and returns it. Adapters that can
   * lock make the read of the current target and the move one step.
   */
  move(alias: string, decide: (current: string | undefined) => Promise<AliasDecision>): Promise<AliasEvent>;
  readHistory(): Promise<AliasEvent[]>;
  /** Recorded when the caller names no actor. */
  actor: string;
}

/** `setAlias`, `history` and `rollback` of the ModelRegistry port, the same for every adapter. */
export function aliasOperations(store: AliasStore): Pick<ModelRegistry, 'setAlias' | 'history' | 'rollback'> {
  const actorOf = (opts: AliasChangeOptions) => opts.actor ?? store.actor;
  return {
    async setAlias(alias, version, opts = {}) {
      assertAlias(alias);
      assertVersion(version);
      await store.move(alias, async () => ({
        to: version,
        actor: actorOf(opts),
        reason: opts.reason ?? `set ${alias} to ${version}`,
        action: 'set',
      }));
    },

    async history(alias) {
      return aliasHistory(await store.readHistory(), alias);
    },

    async rollback(alias, opts = {}) {
      assertAlias(alias);
      return store.move(alias, async (current) => {
        const to = rollbackTarget(await store.readHistory(), alias, current);
        return {
          to,
          actor: actorOf(opts),
          reason: opts.reason ?? `rollback of ${alias} from ${current} to ${to}`,
          action: 'rollback',
        };
      });
    },
  };
}
