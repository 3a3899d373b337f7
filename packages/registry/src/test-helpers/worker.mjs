// Child process for the cross-process tests: drives the built registry (dist/) from another
// process. argv: <root> <startAtEpochMs> <command> ...; prints one JSON line with the result.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createFsRegistry } from '../../dist/index.js';

const [root, startAt, command, ...args] = process.argv.slice(2);
// Start barrier: both children begin at the same wall-clock time, so their writes overlap.
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const reg = createFsRegistry({ root });
const lineage = { snapshotId: 's', loadIds: [], codeVersion: 'child', backend: 'wasm' };

if (command === 'register') {
  const [who, count] = args;
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    const src = path.join(root, '..', `src-${who}-${i}`);
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'model.json'), JSON.stringify({ who, i }));
    await writeFile(path.join(src, 'weights.bin'), Buffer.alloc(64 * 1024, i + (who === 'a' ? 0 : 100)));
    const m = await reg.register({ name: 'm', sourceDir: src, metrics: {}, params: { who, i }, lineage });
    out.push(m.version);
  }
  console.log(JSON.stringify(out));
} else if (command === 'flip') {
  const [alias, a, b, times, actor] = args;
  for (let i = 0; i < Number(times); i++) await reg.setAlias(alias, i % 2 ? a : b, { actor, reason: `flip ${i}` });
  console.log(JSON.stringify({ done: Number(times) }));
} else {
  throw new Error(`unknown command ${command}`);
}
