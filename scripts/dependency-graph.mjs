#!/usr/bin/env node
// Who imports whom, from the code: checks the import rules of .dependency-cruiser.cjs and writes the
// package-level picture to docs/dependencies.md. With --check it writes nothing and fails when the
// checked-in picture differs from the code (part of `npm run lint`).
// Usage: node scripts/dependency-graph.mjs [--check]
// Resolution goes through each package's exports (dist/), so run `npm run build` first.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const OUT = 'docs/dependencies.md';
const check = process.argv.includes('--check');

const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
// The sources of every workspace; dist/ is only ever a target (what an import of @skiff/x resolves to).
const sources = [];
for (const group of ['apps', 'packages'])
  for (const e of await readdir(group, { withFileTypes: true }))
    if (e.isDirectory()) sources.push(`${group}/${e.name}/src`);
const result = await cruise(sources, { ...options, validate: true });
const output = /** @type {import('dependency-cruiser').ICruiseResult} */ (result.output);

let failed = false;
if (output.summary.error > 0) {
  const err = await format(output, { outputType: 'err' });
  process.stderr.write(String(err.output));
  failed = true;
}

// Package level: every module collapsed to its apps/<x> or packages/<x> folder.
const collapsed = /** @type {import('dependency-cruiser').ICruiseResult} */ (
  (await format(output, { outputType: 'json', collapse: '^(packages|apps)/[^/]+' })).output
);
const parsed = typeof collapsed === 'string' ? JSON.parse(collapsed) : collapsed;
const edges = new Map();
for (const m of parsed.modules) {
  if (!/^(packages|apps)\/[^/]+$/.test(m.source)) continue;
  const to = m.dependencies.map((d) => d.resolved).filter((r) => r !== m.source && /^(packages|apps)\/[^/]+$/.test(r));
  edges.set(m.source, [...new Set(to)].sort());
}
const nodes = [...edges.keys()].sort();
const id = (n) => n.replace(/[^A-Za-z0-9]/g, '_');
const label = (n) => n.split('/')[1];

const mermaid = [
  'flowchart LR',
  ...['apps', 'packages'].flatMap((group) => [
    `  subgraph ${group}`,
    ...nodes.filter((n) => n.startsWith(`${group}/`)).map((n) => `    ${id(n)}["${label(n)}"]`),
    '  end',
  ]),
  ...nodes.flatMap((n) => edges.get(n).map((t) => `  ${id(n)} --> ${id(t)}`)),
].join('\n');
const table = nodes
  .map(
    (n) =>
      `| \`${n}\` | ${
        edges
          .get(n)
          .map((t) => `\`${t}\``)
          .join(', ') || '—'
      } |`,
  )
  .join('\n');

const doc = `# Who imports whom

Generated from the code by dependency-cruiser (\`npm run deps:graph\`; [ADR 0010](adr/0010-dependency-cruiser.md)).
Do not edit by hand: \`npm run lint\` fails when this page differs from the code. Tests and test
helpers are left out; an arrow is "imports at least one module of".

The same run enforces the rules in \`.dependency-cruiser.cjs\`: packages never import apps, no import
cycles, no relative imports into another package's folder.

\`\`\`mermaid
${mermaid}
\`\`\`

| package | imports |
|---|---|
${table}
`;

if (check) {
  const current = await readFile(OUT, 'utf8').catch(() => '');
  if (current !== doc) {
    process.stderr.write(
      `${OUT} is stale: the imports of the code changed. Run \`npm run deps:graph\` and commit the result.\n`,
    );
    failed = true;
  }
} else {
  await writeFile(OUT, doc);
  process.stdout.write(
    `wrote ${OUT} (${nodes.length} packages, ${[...edges.values()].reduce((a, e) => a + e.length, 0)} edges)\n`,
  );
}
if (failed) process.exit(1);
