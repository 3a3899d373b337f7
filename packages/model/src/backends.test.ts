import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./test-helpers/train-on.mjs', import.meta.url));
const hasNative = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
if (!hasNative)
  console.warn(
    'SKIPPED native backend test: @tensorflow/tfjs-node is not installed (npm run setup, or node infra/setup.mjs --only tfjs-node)',
  );

type Out = { backend: string; recs: Array<Array<{ itemId: string; score: number }>> };
const trainOn = async (backend: string, cell?: string): Promise<Out> => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, backend, ...(cell ? [cell] : [])], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    timeout: 180_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Out;
};

describe.skipIf(!hasNative)('native TensorFlow (tfjs-node) next to WASM', () => {
  // reset-before trains through TensorFlow's fused GRU kernels on tfjs-node and through tfjs ops on WASM.
  it.each([['reset-after'], ['reset-before']])(
    'trains on the tensorflow backend and agrees with WASM on the same seeded model (%s cell)',
    async (cell) => {
      const native = await trainOn('tensorflow', cell);
      const wasm = await trainOn('wasm', cell);
      expect(native.backend).toBe('tensorflow');
      expect(wasm.backend).toBe('wasm');
      // Same seed, same data, same float32 math up to summation order: the same top items, scores close.
      native.recs.forEach((list, i) => {
        const other = wasm.recs[i]!;
        expect(list.map((r) => r.itemId).slice(0, 3)).toEqual(other.map((r) => r.itemId).slice(0, 3));
        list.forEach((r, j) =>
          expect(Math.abs(r.score - other[j]!.score)).toBeLessThan(0.05 * Math.max(1, Math.abs(other[j]!.score))),
        );
      });
    },
    240_000,
  );
});
