import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbReader } from './duckdb-reader.js';
import { createDuckDbWarehouse } from './create-duckdb-warehouse.js';

/** `skiff sql`: reads the warehouse file, refuses every write, and leaves it usable by the writer. */
describe('read-only warehouse reader', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-reader-'));
    file = path.join(dir, 'w.duckdb');
    const raw = path.join(dir, 'events.ndjson');
    await writeFile(
      raw,
      ['s1', 's1', 's2']
        .map((s, i) =>
          JSON.stringify({
            session_id: s,
            event_type: 'click',
            item_id: `i${i}`,
            timestamp: `2026-01-01T00:0${i}:00Z`,
          }),
        )
        .join('\n') + '\n',
    );
    const wh = await createDuckDbWarehouse({ path: file });
    await wh.load([raw]);
    await wh.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers queries as JSON rows and refuses writes', async () => {
    const reader = await createDuckDbReader({ path: file });
    try {
      expect(await reader.query('SELECT session_id, count(*) AS n FROM raw_events GROUP BY 1 ORDER BY 1')).toEqual([
        { session_id: 's1', n: '2' },
        { session_id: 's2', n: '1' },
      ]);
      await expect(reader.query('DELETE FROM raw_events')).rejects.toThrow(/queries only/);
    } finally {
      await reader.close();
    }
    const wh = await createDuckDbWarehouse({ path: file });
    expect((await wh.query<{ n: string }>('SELECT count(*) AS n FROM raw_events'))[0]?.n).toBe('3');
    await wh.close();
  });
});
