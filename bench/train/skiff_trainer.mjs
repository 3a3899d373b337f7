// skiff's own trainer (packages/model trainGru4Rec: GRU4Rec or SASRec, the product's code path) on
// the bench's sessions, on `tensorflow` (tfjs-node) or `wasm`. The params come from the data file
// (run.mjs writes them next to the Keras model's initial weights, so both start from the same
// weights: trainGru4Rec's seeded initialisation). Prints one JSON line; samplesPerSec is the fastest
// epoch after the first. usage: node bench/train/skiff_trainer.mjs <gru4rec|sasrec> <tensorflow|wasm> <data.json> [epochs]
import { readFileSync } from 'node:fs';
import { importSkiff, report } from './shared.mjs';

const [kind, backendName, dataFile, epochsArg, cellArg] = process.argv.slice(2);
const epochs = Number(epochsArg ?? 3);
const data = JSON.parse(readFileSync(dataFile, 'utf8'));
const m = await importSkiff('model');
m.setBackendPreference(backendName);
const { backend } = await m.initBackend();
const params = { ...data.params[kind], epochs, ...(cellArg ? { cell: cellArg } : {}) };
const epochSeconds = [];
/** CPU seconds (user + system, every thread of the process, TensorFlow's included) per epoch. */
const epochCpuSeconds = [];
let last = performance.now();
let lastCpu = process.cpuUsage();
const t0 = last;
const model = await m.trainGru4Rec({
  train: data.sessions,
  params,
  onEpochEnd: () => {
    const now = performance.now();
    epochSeconds.push((now - last) / 1000);
    last = now;
    const cpu = process.cpuUsage(lastCpu);
    epochCpuSeconds.push((cpu.user + cpu.system) / 1e6);
    lastCpu = process.cpuUsage();
  },
});
const { losses, examples } = model.training;
model.dispose();
report({
  backend: `skiff-${kind}${cellArg ? `-${cellArg}` : ''}${backendName === 'wasm' ? '-wasm' : ''}`,
  n: examples,
  epochs,
  seconds: (performance.now() - t0) / 1000,
  epochSeconds,
  losses,
  batch: params.batchSize,
  steady: 'best',
  extra: {
    // Work per CPU second: on a shared machine wall-clock time counts other jobs' time slices too.
    samplesPerCpuSec: Math.round(examples / Math.min(...epochCpuSeconds.slice(1))),
    epochCpuSeconds: epochCpuSeconds.map((v) => +v.toFixed(2)),
    tfBackend: backend,
    kind,
    cell: kind === 'gru4rec' ? (params.cell ?? 'default') : undefined,
  },
});
