import type { RawEvent } from '@skiff/core';

/** Simulated events → ordered item sequences per session (sessions with at least two items). */
export function sequences(events: RawEvent[]): string[][] {
  const by = new Map<string, string[]>();
  for (const e of events)
    if (e.item_id) (by.get(e.session_id) ?? by.set(e.session_id, []).get(e.session_id)!).push(e.item_id);
  return [...by.values()].filter((s) => s.length > 1);
}
