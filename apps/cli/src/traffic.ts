/** Sends session prefixes to the serving API, as a shop frontend would, and measures online hits. */
export interface TrafficResult {
  requests: number;
  ok: number;
  failed: number;
  hitsAt20: number;
  /** Share of requests whose next item (what the user clicked next) was in the top-k. */
  onlineHr: number;
}

export async function sendTraffic(url: string, sessions: readonly string[][], options: { k?: number; concurrency?: number; idPrefix?: string; postEvents?: boolean } = {}): Promise<TrafficResult> {
  const { k = 20, concurrency = 8, idPrefix = 'sim' } = options;
  const jobs: Array<{ sessionId: string; items: string[]; next: string }> = [];
  sessions.forEach((s, si) => {
    for (let i = 1; i < s.length; i++) jobs.push({ sessionId: `${idPrefix}-${si}`, items: s.slice(0, i), next: s[i]! });
  });
  let ok = 0;
  let failed = 0;
  let hits = 0;
  let next = 0;
  async function lane() {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        const res = await fetch(`${url}/v1/recommendations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: job.items, k, sessionId: job.sessionId }),
        });
        if (!res.ok) {
          failed++;
          continue;
        }
        const body = (await res.json()) as { items: Array<{ itemId: string }> };
        ok++;
        if (body.items.some((r) => r.itemId === job.next)) hits++;
        // The shopper's next click goes back as a follow-up event: online quality is computed from it.
        if (options.postEvents !== false)
          await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ sessionId: job.sessionId, itemId: job.next }] }) });
      } catch {
        failed++;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { requests: jobs.length, ok, failed, hitsAt20: hits, onlineHr: ok ? hits / ok : 0 };
}
