/**
 * What a session's item sequence is (docs/design.md, Sessions and splits): the events with an item
 * of these types, in time order, repeated clicks kept; sessions shorter or longer than the bounds
 * are left out of training; rows without a session id are cut into sessions per user after
 * `SESSION_GAP_MINUTES` without events. The warehouse's SQL models render these values, the
 * monitor's online events and the serving app's `POST /v1/events` use the same event types.
 */
export const ITEM_EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type ItemEventType = (typeof ITEM_EVENT_TYPES)[number];

/** Minimum and maximum session length (item events) kept for training, as in session-rec's filters. */
export const MIN_SESSION_LENGTH = 2;
export const MAX_SESSION_LENGTH = 200;
/** Rows without a session id start a new session after this much inactivity of their user. */
export const SESSION_GAP_MINUTES = 30;

/** Whether an event puts an item into its session's sequence. */
export function isItemEvent(eventType: unknown, itemId: unknown): boolean {
  return (
    typeof itemId === 'string' &&
    itemId !== '' &&
    typeof eventType === 'string' &&
    (ITEM_EVENT_TYPES as readonly string[]).includes(eventType)
  );
}
