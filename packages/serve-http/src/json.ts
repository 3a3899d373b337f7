import type { Response } from 'express';
import type { ScoredItem } from '@skiff/core';

/*
 * Hand-written JSON for the shapes written on every request: the recommendation list (twice per
 * request: in the answer and in the serving log) and the serving record. On Node 20,
 * JSON.stringify of 20 `{ itemId, score }` objects costs ~3 µs, about twice this loop, and it ran
 * twice per request. Strings still go through JSON.stringify, so escaping (quotes, control
 * characters, lone surrogates) is exactly JSON.stringify's; json.test.ts checks the output against
 * JSON.stringify.
 */

/** A number as JSON.stringify writes it: NaN and ±Infinity become null (a bare `NaN` is not JSON). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** `JSON.stringify(items)` for a recommendation list. */
export function scoredItemsJson(items: ReadonlyArray<ScoredItem>): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    const x = items[i]!;
    out += (i ? ',{"itemId":' : '{"itemId":') + JSON.stringify(x.itemId) + ',"score":' + jsonNumber(x.score) + '}';
  }
  return out + ']';
}

/**
 * Sends an already serialised JSON body. Skips what `res.json` adds on top (settings lookups,
 * charset negotiation, a SHA-1 ETag of every body, a freshness check): none of it applies to
 * POST answers. The headers are the ones `res.json` sets.
 */
export function sendJson(res: Response, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
