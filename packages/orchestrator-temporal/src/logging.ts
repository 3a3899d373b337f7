import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '@skiff/core';

const LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker, workflow, activity, Core) into skiff's structured
 * logger at the configured level. Must run before the first worker or connection is created.
 */
export function installTemporalLogging(logger: Logger, level: string): void {
  if (installed) return;
  installed = true;
  const sdk = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(LEVELS[level] ?? 'WARN', (entry) => {
      const fields = { ...(entry.meta ?? {}) };
      // A worker by role polls only the queues of its role: the SDK's warning that another kind of
      // task has nothing registered is expected there, not something for a person to act on.
      const expected =
        entry.level === 'WARN' && /^No (activities|workflows) registered, not polling/.test(entry.message);
      const fn =
        entry.level === 'ERROR'
          ? sdk.error
          : entry.level === 'WARN' && !expected
            ? sdk.warn
            : entry.level === 'INFO' || expected
              ? sdk.info
              : sdk.debug;
      fn.call(sdk, entry.message, fields);
    }),
  });
}
