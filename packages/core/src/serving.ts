/**
 * One served request, one line of the serving log (`data/raw/serving/*.ndjson`): the serving app
 * writes it and the monitor reads it back (docs/design.md, Serving).
 */
export interface ServingRecord {
  /** When the server answered (ISO-8601, UTC). */
  ts: string;
  requestId: string;
  sessionId: string | null;
  items: string[];
  k: number;
  unknownItems: number;
  recommended: Array<{ itemId: string; score: number }>;
  model: { name: string; version: string };
  latencyMs: number;
}

/**
 * A serving record as a reader takes it: the request and the answer must be there, the rest may be
 * missing (a log written by another producer, a record cut to what a test needs).
 */
export type ServingRecordRead = Pick<ServingRecord, 'items' | 'recommended'> &
  Partial<Omit<ServingRecord, 'items' | 'recommended'>>;
