// Writes the saved-artifact fixtures of src/artifact-compat.test.ts: a tiny GRU4Rec (reset-after cell,
// the only cell before cells were recorded; config without `kind` or `cell`, as the first releases
// wrote it) and a tiny SASRec, each with the answers the code of its time gave (answers.json).
// Re-running it overwrites the fixtures with the current code's output, so run it only to add a
// new format, never to "fix" a failing compatibility test.
// usage (after npx turbo run build): node src/test-fixtures/make-fixtures.mjs [tensorflow|wasm]
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, setBackendPreference, trainGru4Rec } from '../../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
setBackendPreference(process.argv[2] ?? 'auto');
const { backend } = await initBackend();
let a = 9;
const rnd = () => (a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296;
const train = Array.from({ length: 400 }, () => {
  let cur = Math.floor(rnd() * 40);
  return Array.from(
    { length: 2 + Math.floor(rnd() * 5) },
    () => `i${(cur = rnd() < 0.8 ? (cur * 7 + 3) % 40 : Math.floor(rnd() * 40))}`,
  );
});
const histories = [
  ['i1'],
  ['i10', 'i33'],
  ['i5', 'i38', 'i5'],
  ['nope'],
  ['i2', 'nope', 'i9', 'i16', 'i23', 'i30', 'i37'],
];
const base = { embeddingDim: 8, hiddenUnits: 8, maxLen: 5, epochs: 2, batchSize: 32, learningRate: 0.01, seed: 7 };
for (const [name, params] of [
  ['gru4rec-reset-after-v1', { model: 'gru4rec', ...base }],
  ['sasrec-v1', { model: 'sasrec', ...base, blocks: 2, heads: 2 }],
]) {
  const dir = path.join(here, name);
  await rm(dir, { recursive: true, force: true });
  const model = await trainGru4Rec({ train, params });
  await model.save(dir);
  if (params.model === 'gru4rec') {
    const configFile = path.join(dir, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    delete config.kind;
    await writeFile(configFile, JSON.stringify(config, null, 2));
  }
  const answers = {
    backend,
    histories,
    batch: model.recommendBatch(histories, 10),
    single: histories.map((h) => model.recommend(h, 10, new Set(['i1']))),
  };
  await writeFile(path.join(dir, 'answers.json'), JSON.stringify(answers, null, 1));
  model.dispose();
  console.log(name, backend);
}
