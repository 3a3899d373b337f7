/** Sends session prefixes to the serving API, as a shop frontend would, and measures online hits. */
export interface TrafficResult {
  requests: number;
  ok: number;
  failed: number;
  hitsAt20: number;
  /** Share of requests whose next item (what the user clicked next) was in the top-k. */
  onlineHr: number;
}

export async function sendTraffic(
  url: string,
  sessions: readonly string[][],
  options: { k?: number; concurrency?: number; idPrefix?: string; postEvents?: boolean } = {},
): Promise<TrafficResult> {
  const { k = 20, concurrency = 8, idPrefix = 'sim' } = options;
  // A lane is a shopper: it plays one session at a time, in order (ask, click, ask again…), so
  // that each click follows the recommendation it answers, as on a real site.
  const bySession: Array<Array<{ sessionId: string; items: string[]; next: string }>> = sessions.map((s, si) =>
    s.slice(1).map((next, i) => ({ sessionId: `${idPrefix}-${si}`, items: s.slice(0, i + 1), next })),
  );
  const requests = bySession.reduce((a, j) => a + j.length, 0);
  let ok = 0;
  let failed = 0;
  let hits = 0;
  let next = 0;
  async function lane() {
    while (next < bySession.length) {
      for (const job of bySession[next++]!) await play(job);
    }
  }
  async function play(job: { sessionId: string; items: string[]; next: string }) {
    try {
      const res = await fetch(`${url}/v1/recommendations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: job.items, k, sessionId: job.sessionId }),
      });
      if (!res.ok) {
        failed++;
        return;
      }
      const body = (await res.json()) as { items: Array<{ itemId: string }>; requestId?: string };
      ok++;
      if (body.items.some((r) => r.itemId === job.next)) hits++;
      // The shopper's next click goes back as a follow-up event naming the recommendation it
      // followed: online quality is computed from it.
      if (options.postEvents !== false)
        await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            events: [
              { sessionId: job.sessionId, itemId: job.next, ...(body.requestId ? { requestId: body.requestId } : {}) },
            ],
          }),
        });
    } catch {
      failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { requests, ok, failed, hitsAt20: hits, onlineHr: ok ? hits / ok : 0 };
}
