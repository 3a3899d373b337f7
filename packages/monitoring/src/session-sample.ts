/**
 * Session lengths of a serving log too large to keep whole, sampled by session rather than by
 * record. A record sample (a reservoir) keeps a few of a long session's requests, and the longest
 * kept is shorter than the session: `session_length` came out biased low. Here a session is in or
 * out as a whole, decided by a seeded hash of its id (the `maxSessions` smallest hashes: a uniform
 * sample of sessions), and a kept session has been seen from its first record on, so its length is
 * exact. Memory: at most 1.25 × maxSessions sessions at any time.
 */
export interface SessionLengthSample {
  /** One serving record: its session (null: the record counts as a session of its own) and its request's length. */
  add(sessionId: string | null, length: number): void;
  /** The longest request of each kept session, in the order the sessions first appeared. */
  lengths(): number[];
  /** The kept sessions (a record without a session as `\u0000<n>`) with their lengths. */
  entries(): Array<[string, number]>;
}

/**
 * A 53-bit string hash (cyrb53, public domain): cheap, well mixed, seeded. A session's hash decides
 * whether it is kept, so it must not depend on where in the log the session appears.
 */
export function hashSessionId(key: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function createSessionLengthSample(maxSessions: number, seed = 1): SessionLengthSample {
  const cap = Math.max(1, Math.floor(maxSessions));
  // Session id → its longest request so far; the hash is recomputed when pruning (cheap) rather
  // than kept, which keeps an entry small.
  const sessions = new Map<string, number>();
  // Sessions whose hash is at or above this are out for good: it only ever decreases, so a session
  // turned away (or dropped) once is turned away at every later record too.
  let threshold = Infinity;
  let anonymous = 0;

  const prune = () => {
    if (sessions.size <= cap) return;
    const hashes = Float64Array.from(sessions.keys(), (id) => hashSessionId(id, seed)).sort();
    threshold = hashes[cap]!;
    for (const id of sessions.keys()) if (hashSessionId(id, seed) >= threshold) sessions.delete(id);
  };

  return {
    add(sessionId, length) {
      // A record without a session stands alone: a key no session id can take.
      const id = sessionId ?? `\u0000${anonymous++}`;
      const known = sessions.get(id);
      if (known !== undefined) {
        if (length > known) sessions.set(id, length);
        return;
      }
      if (threshold !== Infinity && hashSessionId(id, seed) >= threshold) return;
      sessions.set(id, length);
      if (sessions.size > cap + Math.ceil(cap / 4)) prune();
    },
    lengths() {
      prune();
      return Array.from(sessions.values());
    },
    entries() {
      prune();
      return Array.from(sessions);
    },
  };
}
