import { describe, expect, it } from 'vitest';
import { RawEventSchema, RecommendationRequestSchema, SkiffError, toSkiffError, TrainParamsSchema } from './index.js';

describe('SkiffError', () => {
  it('derives retryability from the code unless told otherwise', () => {
    expect(new SkiffError('DATA_QUALITY_FAILED', 'x').retryable).toBe(false);
    expect(new SkiffError('SOURCE_UNAVAILABLE', 'x').retryable).toBe(true);
    expect(new SkiffError('BAD_INPUT', 'x', { retryable: true }).retryable).toBe(true);
  });
  it('normalises unknown throwables to retryable INTERNAL errors', () => {
    const e = toSkiffError(new TypeError('boom'));
    expect([e.code, e.retryable, e.message]).toEqual(['INTERNAL', true, 'boom']);
    expect(toSkiffError('str').message).toBe('str');
  });
});

describe('schemas', () => {
  it('accepts the raw event contract and refuses unknown event types', () => {
    expect(
      RawEventSchema.safeParse({ session_id: 's', event_type: 'click', item_id: 'i', timestamp: 1700000000 }).success,
    ).toBe(true);
    expect(
      RawEventSchema.safeParse({
        session_id: 's',
        event_type: 'search',
        item_id: null,
        timestamp: '2026-01-01T00:00:00Z',
        query: 'shoes',
      }).success,
    ).toBe(true);
    expect(
      RawEventSchema.safeParse({ session_id: 's', event_type: 'teleport', item_id: 'i', timestamp: 1 }).success,
    ).toBe(false);
  });
  it('defaults k to 20 and refuses unknown request fields', () => {
    expect(RecommendationRequestSchema.parse({ items: ['a'] }).k).toBe(20);
    expect(RecommendationRequestSchema.safeParse({ items: ['a'], extra: 1 }).success).toBe(false);
  });
  it('fills training defaults', () => {
    expect(TrainParamsSchema.parse({})).toMatchObject({ model: 'gru4rec', epochs: 3, seed: 42 });
  });
});
