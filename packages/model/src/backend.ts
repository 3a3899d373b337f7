import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkiffError } from '@skiff/core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm';

interface WasmLikeBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: Float32Array): TensorInfo;
}

/**
 * UnsortedSegmentSum for the WASM backend, which lacks it. The gradient of every gather (the
 * embedding lookups) needs it: each row of `x` is added into the output row named by its
 * segment id; ids outside [0, numSegments) are skipped.
 */
export const unsortedSegmentSumWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const b = backend as unknown as WasmLikeBackend;
  const xv = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = rest.reduce((a, d) => a * d, 1);
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const xo = i * inner;
    for (let j = 0; j < inner; j++) out[o + j]! += xv[xo + j]!;
  }
  return b.makeOutput([numSegments, ...rest], 'float32', undefined, out);
};

/**
 * tfjs' gradients reshape every input gradient to its input's shape, most often the shape it
 * already has, and cast float32 tensors to float32 (tf.moments, the mean's gradient); on tfjs-node
 * each of those is a TensorFlow op call (plus a shape tensor for a reshape). Both are the identity
 * then: wrap the two kernels so they return the input (shared data, as tfjs' Identity kernel does)
 * and call TensorFlow only for real reshapes and casts.
 */
function skipNoOpKernels(): void {
  const isNoOp: Record<string, (x: TensorInfo, attrs: Record<string, unknown>) => boolean> = {
    Reshape: (x, attrs) => {
      const wanted = attrs['shape'] as number[];
      const size = x.shape.reduce((a, n) => a * n, 1);
      const known = wanted.reduce((a, n) => (n === -1 ? a : a * n), 1);
      const shape = wanted.map((n) => (n === -1 ? size / known : n));
      return shape.length === x.shape.length && shape.every((n, i) => n === x.shape[i]);
    },
    Cast: (x, attrs) => attrs['dtype'] === x.dtype,
  };
  for (const [name, noOp] of Object.entries(isNoOp)) {
    const kernel = tf.getKernel(name, 'tensorflow');
    if (!kernel || (kernel.kernelFunc as { skipsNoOp?: boolean }).skipsNoOp) continue;
    const original = kernel.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      const x = args.inputs['x']!;
      if (!noOp(x, args.attrs as Record<string, unknown>)) return original(args);
      (args.backend as unknown as { incRef(dataId: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    };
    (kernelFunc as { skipsNoOp?: boolean }).skipsNoOp = true;
    tf.unregisterKernel(name, 'tensorflow');
    tf.registerKernel({ ...kernel, kernelFunc });
  }
}

let ready: Promise<{ backend: BackendName }> | undefined;
let fallbackReason: string | null = null;

/** Why the `auto` preference fell back to WASM (tfjs-node's load error), or null. */
export function backendFallbackReason(): string | null {
  return fallbackReason;
}

/** `auto`: tfjs-node when it loads, else WASM. `tensorflow`: tfjs-node or an error. `wasm`: WASM only. */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm';
let preference: BackendPreference = 'auto';

/** Set by composition roots from config (SKIFF_TF_BACKEND) before the first initBackend(). */
export function setBackendPreference(p: BackendPreference): void {
  if (ready && p !== preference)
    throw new SkiffError(
      'CONFIG_INVALID',
      `the tfjs backend was already chosen (${preference}); set SKIFF_TF_BACKEND before training or loading`,
    );
  preference = p;
}

let intraOpThreads = 0;

/**
 * TensorFlow's intra-op thread pool size for this process (0: TensorFlow's default, one per core),
 * set by composition roots before the first initBackend(); TensorFlow reads it when it starts. An
 * explicit TF_NUM_INTRAOP_THREADS in the environment wins. No effect on the WASM backend.
 */
export function setIntraOpThreads(n: number): void {
  if (ready && n !== intraOpThreads)
    throw new SkiffError(
      'CONFIG_INVALID',
      'the tfjs backend was already started; set the TensorFlow thread count before training or loading',
    );
  intraOpThreads = n;
}

async function pick(): Promise<{ backend: BackendName }> {
  if (preference !== 'wasm') {
    try {
      // Optional dependency (completed by infra/tfjs-node/install.sh, which `npm run setup` runs); a variable name keeps bundlers off it.
      const name = '@tensorflow/tfjs-node';
      // Quiet TensorFlow's C++ start-up notes (oneDNN, CPU features) unless the user asked for them.
      process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
      if (intraOpThreads > 0) process.env['TF_NUM_INTRAOP_THREADS'] ??= String(intraOpThreads);
      await import(/* @vite-ignore */ name);
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        skipNoOpKernels();
        return { backend: 'tensorflow' };
      }
      throw new Error('setBackend("tensorflow") returned false');
    } catch (e) {
      if (preference === 'tensorflow')
        throw new SkiffError(
          'DEPENDENCY_MISSING',
          `SKIFF_TF_BACKEND=tensorflow but @tensorflow/tfjs-node does not load (${(e as Error).message.split('\n')[0]}); run: npm run setup`,
        );
      // auto: not installed (or its native library failed to load): use WASM
      fallbackReason = `@tensorflow/tfjs-node does not load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  const wasmFile = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  setWasmPaths(path.dirname(wasmFile) + path.sep);
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm });
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend failed to initialise');
  await tf.ready();
  return { backend: 'wasm' };
}

/**
 * Picks the backend once per process (idempotent): native TensorFlow through the optional
 * `@tensorflow/tfjs-node` when it is installed, else WASM with the missing `UnsortedSegmentSum`
 * kernel registered. Never the pure-JS `cpu` backend (~8× slower than WASM for this model).
 */
export function initBackend(): Promise<{ backend: BackendName }> {
  ready ??= pick().catch((e: unknown) => {
    ready = undefined;
    throw e;
  });
  return ready;
}
