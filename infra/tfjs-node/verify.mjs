// Verifies @tensorflow/tfjs-node the way packages/model/src/backend.ts uses it: import
// '@tensorflow/tfjs', dynamically import the optional '@tensorflow/tfjs-node', switch to the
// 'tensorflow' backend; then train a dense layer, an embedding → GRU → softmax model, and check
// the gradient of a gather (UnsortedSegmentSum) against the dense formulation. Prints one JSON
// line; exits 1 with a message naming the failed step. Run from the repository root: packages are
// resolved from the current directory (as from packages/model), not from this file's location.
// With --quick it stops after loading the backend and one small op (the check of an installation
// that is already in place, which has to take seconds).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const t0 = Date.now();
let step = 'import @tensorflow/tfjs';
const result = { ok: false };
const cwdRequire = createRequire(path.join(process.cwd(), 'package.json'));
// No "exports" maps in these packages: ESM import and require resolve to the same "main" file.
const importFromCwd = (name) => import(pathToFileURL(cwdRequire.resolve(name)).href);
try {
  const tf = await importFromCwd('@tensorflow/tfjs');
  step = 'import @tensorflow/tfjs-node (dlopen of the addon + libtensorflow)';
  const tfn = await importFromCwd('@tensorflow/tfjs-node');
  step = "tf.setBackend('tensorflow')";
  if (!(await tf.setBackend('tensorflow'))) throw new Error("setBackend('tensorflow') returned false");
  await tf.ready();
  if (tf.getBackend() !== 'tensorflow') throw new Error(`backend is ${tf.getBackend()}`);
  // tfjs-node must share the tfjs-core instance with the app, or the backend lands in another engine.
  const pkgDir = path.dirname(cwdRequire.resolve('@tensorflow/tfjs-node/package.json'));
  const coreFromApp = cwdRequire.resolve('@tensorflow/tfjs-core');
  const coreFromNode = createRequire(path.join(pkgDir, 'package.json')).resolve('@tensorflow/tfjs-core');
  if (coreFromApp !== coreFromNode) throw new Error(`two copies of tfjs-core: ${coreFromApp} vs ${coreFromNode}`);
  result.tfjsNode = (tfn.version ?? tf.version)['tfjs-node'];
  result.libtensorflow = tf.backend().binding?.TF_Version;
  result.loadMs = Date.now() - t0;

  if (process.argv.includes('--quick')) {
    step = 'one matMul on the tensorflow backend';
    const sum = tf
      .ones([4, 4])
      .matMul(tf.ones([4, 4]))
      .sum()
      .dataSync()[0];
    if (sum !== 64) throw new Error(`matMul of ones gave ${sum}, expected 64`);
    result.ok = true;
    result.quick = true;
    result.ms = Date.now() - t0;
    console.log(JSON.stringify(result));
    process.exit(0);
  }

  step = 'dense fit';
  const xs = tf.randomNormal([256, 8], 0, 1, 'float32', 1);
  const ys = xs.matMul(tf.randomNormal([8, 1], 0, 1, 'float32', 2));
  const dense = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [8] })] });
  dense.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const h1 = await dense.fit(xs, ys, { epochs: 30, batchSize: 64, verbose: 0 });
  result.denseLoss = [h1.history.loss[0], h1.history.loss.at(-1)].map((v) => +v.toFixed(5));
  if (!(result.denseLoss[1] < result.denseLoss[0] * 0.1))
    throw new Error(`dense loss did not fall: ${result.denseLoss}`);

  step = 'embedding → GRU → softmax fit';
  const V = 50;
  const ids = tf.randomUniform([256, 6], 0, V, 'int32', 3);
  const next = ids.slice([0, 5], [256, 1]).reshape([256]).toFloat(); // learnable: predict the last id
  const gru = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: V, outputDim: 16, inputLength: 6 }),
      tf.layers.gru({ units: 16 }),
      tf.layers.dense({ units: V, activation: 'softmax' }),
    ],
  });
  gru.compile({ optimizer: tf.train.adam(0.02), loss: 'sparseCategoricalCrossentropy' });
  const h2 = await gru.fit(ids, next, { epochs: 15, batchSize: 32, verbose: 0 });
  result.gruLoss = [h2.history.loss[0], h2.history.loss.at(-1)].map((v) => +v.toFixed(4));
  if (!(result.gruLoss[1] < result.gruLoss[0])) throw new Error(`GRU loss did not fall: ${result.gruLoss}`);

  step = 'gather gradient (UnsortedSegmentSum)';
  const table = tf.randomNormal([10, 4], 0, 1, 'float32', 5);
  const idx = tf.tensor1d([1, 3, 3, 9, 0], 'int32');
  const w = tf.randomNormal([5, 4], 0, 1, 'float32', 6);
  const g1 = tf.grad((t) => tf.gather(t, idx).mul(w).sum())(table);
  const g2 = tf.grad((t) => tf.matMul(tf.oneHot(idx, 10).toFloat(), t).mul(w).sum())(table);
  result.gatherGradMaxDiff = tf.max(tf.abs(g1.sub(g2))).dataSync()[0];
  if (!(result.gatherGradMaxDiff < 1e-5)) throw new Error(`gather gradient differs by ${result.gatherGradMaxDiff}`);

  step = 'no libpython mapped';
  result.libpythonLoaded = /libpython/.test(readFileSync('/proc/self/maps', 'utf8'));
  if (result.libpythonLoaded) throw new Error('libpython is mapped into the Node process');
  result.ok = true;
  result.ms = Date.now() - t0;
  console.log(JSON.stringify(result));
} catch (e) {
  console.log(JSON.stringify({ ...result, failedStep: step, error: String(e?.stack ?? e) }));
  console.error(`tfjs-node verification failed at: ${step}\n${e?.stack ?? e}`);
  process.exit(1);
}
