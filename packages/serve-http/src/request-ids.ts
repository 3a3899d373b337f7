import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Request ids the server signs: `<uuid>.<mac>`, the mac an HMAC-SHA256 of the uuid and the session
 * id under a deployment secret. A follow-up event is credited to a recommendation only when its
 * request id verifies for its own session, so a client cannot invent ids, reuse another session's,
 * or attribute clicks to requests that never happened.
 */
export interface RequestIds {
  issue(sessionId: string | null): string;
  verify(requestId: string, sessionId: string): boolean;
}

const ID_RE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/** `secret` from configuration; without one, a random secret per process (ids die with it). */
export function createRequestIds(secret?: string): RequestIds {
  const key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  const mac = (uuid: string, sessionId: string | null) =>
    createHmac('sha256', key)
      .update(`${uuid}\n${sessionId ?? ''}`)
      .digest('base64url');
  return {
    issue(sessionId) {
      const uuid = randomUUID();
      return `${uuid}.${mac(uuid, sessionId)}`;
    },
    verify(requestId, sessionId) {
      const m = ID_RE.exec(requestId);
      if (!m) return false;
      const want = Buffer.from(mac(m[1]!, sessionId));
      const got = Buffer.from(m[2]!);
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}
