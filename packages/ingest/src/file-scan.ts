import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a file, with what the DuckDB load path needs to know about its lines. */
export async function scanFile(
  file: string,
): Promise<{ sha256: string; lines: number; hasCr: boolean; hasNul: boolean }> {
  const h = createHash('sha256');
  let newlines = 0;
  let last = -1;
  let hasCr = false;
  let hasNul = false;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
    if (!hasCr && chunk.indexOf(13) !== -1) hasCr = true;
    if (!hasNul && chunk.indexOf(0) !== -1) hasNul = true;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return { sha256: h.digest('hex'), lines: newlines + (last !== -1 && last !== 10 ? 1 : 0), hasCr, hasNul };
}
