import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '@skiff/core';
import { detectFormat, RAW_EXTENSIONS } from './readers.js';

/**
 * Expands folders into the raw files they hold (sorted, recursive, the serving and online-event logs excluded).
 * `.txt`, `.tsv` and `.dat` files are taken only when their first line names a known format.
 */
export async function expandInputs(paths: string[], options: { missingOk?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st && options.missingOk) continue;
    if (!st) throw new SkiffError('BAD_INPUT', `input not found: ${p}`);
    if (st.isDirectory()) {
      const entries = await readdir(p, { withFileTypes: true, recursive: true });
      for (const e of entries) {
        const full = path.join(e.parentPath, e.name);
        const ext = path.extname(e.name).toLowerCase();
        // Only `serving` and `online` folders inside the given one are the server's logs (never
        // ingested as shop logs; online events only when given by name): one above it is just a name.
        const parts = path.relative(p, full).split(path.sep);
        if (!e.isFile() || parts.includes('serving') || parts.includes('online') || !RAW_EXTENSIONS.includes(ext))
          continue;
        if (['.txt', '.tsv', '.dat'].includes(ext)) {
          const d = await detectFormat(full).catch(() => undefined);
          if (!d) continue;
        }
        out.push(full);
      }
    } else out.push(p);
  }
  return [...new Set(out.map((f) => path.resolve(f)))].sort();
}
