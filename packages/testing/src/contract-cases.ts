import { it, type TestContext } from 'vitest';
import { mulberry32 } from '@skiff/core';

/**
 * Cases of a contract suite that an adapter is known to fail, by case key, each with the reason
 * (ideally an issue link). Such a case runs as `it.fails`: it stays visible in the report, and the
 * day the adapter is fixed it turns red, so the entry has to be removed.
 */
export type KnownFailures<K extends string> = Partial<Record<K, string>>;

/** What every contract suite accepts besides its harness. */
export interface ContractSuiteOptions<K extends string> {
  /** When set, the suite is skipped and the reason is shown in the test name. */
  skip?: string | false;
  /** Cases this adapter is known to fail (run as `it.fails`, the reason in the test name). */
  knownFailures?: KnownFailures<K>;
}

/**
 * `it` for one case of a contract suite: the title starts with the case key (what `knownFailures`
 * names), and a known failure runs as `it.fails`.
 */
export function contractCase<K extends string>(known: KnownFailures<K> | undefined) {
  return (key: K, title: string, fn: (ctx: TestContext) => Promise<void> | void, timeout?: number): void => {
    const reason = known?.[key];
    if (reason) it.fails(`${key}: ${title} [KNOWN FAILURE: ${reason}]`, fn, timeout);
    else it(`${key}: ${title}`, fn, timeout);
  };
}

/** A small seeded generator (core's mulberry32): contract data is the same on every run and machine. */
export const seededRandom: (seed: number) => () => number = mulberry32;
