// A tiny "model kind" for serving tests: ranks its vocabulary in file order. The registry, HTTP,
// hot swap and logs around it are real; only the scoring is trivial.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export async function writeFixedArtifact(dir, items) {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'vocabulary.json'), JSON.stringify(items));
}

export async function loadFixed(dir) {
  const vocabulary = JSON.parse(await readFile(path.join(dir, 'vocabulary.json'), 'utf8'));
  const top = (k, exclude) =>
    vocabulary
      .filter((i) => !exclude?.has(i))
      .slice(0, k)
      .map((itemId, r) => ({ itemId, score: 1 / (r + 1) }));
  return {
    name: 'fixed',
    vocabulary,
    recommend: (_h, k, exclude) => top(k, exclude),
    recommendBatch: (hs, k) => hs.map(() => top(k)),
  };
}
