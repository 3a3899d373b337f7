// Trains the same tiny seeded GRU4Rec on the backend named in argv[2] (GRU cell: argv[3], default
// the params' default) and prints the backend and
// the scores of a fixed set of prefixes as JSON (one process per backend: tfjs picks one per process).
import { initBackend, setBackendPreference, trainGru4Rec } from '../../dist/index.js';

setBackendPreference(process.argv[2]);
const { backend } = await initBackend();
let a = 5;
const rnd = () => (a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296;
const train = Array.from({ length: 1500 }, () => {
  let cur = Math.floor(rnd() * 100);
  return Array.from({ length: 5 }, () => `i${(cur = rnd() < 0.8 ? (cur * 7 + 3) % 100 : Math.floor(rnd() * 100))}`);
});
const model = await trainGru4Rec({
  train,
  params: {
    model: 'gru4rec',
    embeddingDim: 16,
    hiddenUnits: 16,
    maxLen: 5,
    epochs: 2,
    batchSize: 64,
    learningRate: 0.01,
    seed: 3,
    ...(process.argv[3] ? { cell: process.argv[3] } : {}),
  },
});
const recs = model.recommendBatch([['i1'], ['i10', 'i73'], ['i5', 'i38', 'i69']], 5);
process.stdout.write(JSON.stringify({ backend, recs }) + '\n');
