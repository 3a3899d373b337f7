import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The `*.ndjson` files of a log folder, in name order (rotation order); none when it does not exist. */
export async function ndjsonFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.ndjson'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** The non-blank lines of one NDJSON file, streamed. */
export async function* ndjsonLines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim()) yield line;
}
