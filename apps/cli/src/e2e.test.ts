import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { mkdir, readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/orchestrator-temporal';
import { createFsRegistry } from '@skiff/registry';
import { createContext } from './context.js';
import { runDemo, type DemoHandle } from './commands/demo.js';
import { classify, shellLines } from './test-helpers/doc-blocks.js';
import { expectDemoOutputMatchesGate } from './test-helpers/demo-output.js';

const run = promisify(execFile);
const artifactsDir = fileURLToPath(new URL('../test-artifacts', import.meta.url));
const cliMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const repoRoot = path.resolve(path.dirname(cliMain), '../../..');
/**
 * The browser `npm test`'s setup step found or installed (infra/setup.mjs records it), or
 * SKIFF_CHROMIUM_PATH; the browser test is skipped, with this reason, without one.
 */
function findChromium(): string | undefined {
  const recorded = path.join(repoRoot, '.cache', 'setup', 'chromium.json');
  const fromSetup = existsSync(recorded)
    ? (JSON.parse(readFileSync(recorded, 'utf8')) as { path?: string }).path
    : undefined;
  return [process.env['SKIFF_CHROMIUM_PATH'], fromSetup, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p): p is string => !!p && existsSync(p),
  );
}
const chromiumPath = findChromium();
if (!chromiumPath)
  console.warn(
    'SKIPPED dashboard browser test: no Chromium (run `node infra/setup.mjs --only chromium`, or set SKIFF_CHROMIUM_PATH)',
  );

/**
 * The whole loop on real components: simulator logs → DuckDB file → trainingPipeline on a real
 * Temporal dev server (started by skiff) → registry → Express over real HTTP → monitoringWorkflow,
 * with drifted traffic so that drift starts a retraining run.
 */
describe('end to end: the demo loop', () => {
  let dataDir: string;
  let demo: DemoHandle;
  let temporalPort: number;
  let temporalUiPort: number;
  const said: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-e2e-'));
    temporalPort = await freePort();
    temporalUiPort = await freePort();
    const ctx = createContext(
      { dataDir, json: true, logLevel: 'warn' },
      {
        temporalPort,
        temporalUiPort,
        cacheDir: path.join(repoRoot, '.cache'),
      },
    );
    ctx.say = (line) => void said.push(line);
    demo = await runDemo(ctx, {
      once: true,
      sessions: 5_000,
      items: 800,
      days: 5,
      seed: 3,
      epochs: 2,
      trafficSessions: 150,
      drift: true,
    });
  }, 600_000);

  afterAll(async () => {
    await demo?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('registers a version with metrics, lineage and file hashes, and promotes the model that won its test', async () => {
    const r = demo.result;
    expect(r.modelVersion).toBe('v0001');
    // The candidate learned from sequences. POP is strong on the simulator (its popularity skew is
    // calibrated to YooChoose's and does not change over the days): on this data (seed 3, 2 epochs)
    // GRU4Rec reached 0.553 HR@20 against POP's 0.323 when measured.
    expect(r.metrics['hr@20']!).toBeGreaterThan(1.5 * r.baselines['pop']!['hr@20']!);
    // The demo's gate (promote-best): the run's best model, promoted when it beat every other model
    // of the run with the whole interval above 0 — or, on this fresh data dir, when no model did, on
    // its point estimate (noWinner: serve-best). Never a model a baseline beat.
    const d = r.decision!;
    expect(Object.keys(r.baselines).sort()).toEqual(['pop', 'sr', 'vsknn']);
    expect(d.policy).toBe('promote-best');
    const values = Object.values(r.comparison!.models).map((m) => m.value);
    expect(d.contenderValue).toBe(Math.max(...values));
    expect(r.promoted).toBe(true);
    expect(d.fallback === 'serve-best').toBe(!d.checks.every((c) => c.lo > 0));
    for (const p of r.comparison!.pairs.filter((x) => x.b === d.promote)) expect(p.lo).toBeLessThanOrEqual(0);
    const registry = createFsRegistry({ root: path.join(dataDir, 'registry') });
    if (r.promoted) {
      // The first move of production is this run's (the drift-triggered retraining may move it again).
      const first = (await registry.history('production'))[0]!;
      expect(first).toMatchObject({ to: r.promotedVersion, actor: `pipeline:${r.workflowId}` });
      expect(first.reason).toMatch(d.fallback ? /no clear winner: / : / beats all: /);
      expect((await registry.get(r.promotedVersion!)).manifest.name).toBe(
        d.promote === 'candidate' ? 'gru4rec' : d.promote,
      );
    }
    // The demo's candidate set: every candidate scored on validation, the best refit and gated.
    expect(r.candidates!.candidates.map((c) => c.name)).toEqual(['gru4rec', 'gru4rec-repeat']);
    await expectDemoOutputMatchesGate(said.join('\n'), r, path.join(dataDir, 'registry'));
    const { manifest } = await registry.get('v0001');
    expect(manifest.lineage.workflowId).toBe(r.workflowId);
    expect(manifest.lineage.loadIds.length).toBeGreaterThan(0);
    expect(['wasm', 'tensorflow']).toContain(manifest.lineage.backend);
    expect(Object.keys(manifest.files).sort()).toEqual(['config.json', 'model.json', 'vocabulary.json', 'weights.bin']);
    expect(manifest.metrics['mrr@20']).toBeGreaterThan(0);
  });

  it('serves k items for a known session over HTTP and refuses a malformed body with a JSON 400', async () => {
    const vocab = JSON.parse(
      await readFile(path.join(dataDir, 'registry', 'versions', 'v0001', 'vocabulary.json'), 'utf8'),
    ) as string[];
    const ok = await fetch(`${demo.result.servingUrl}/v1/recommendations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: vocab.slice(0, 3), k: 7, sessionId: 'e2e' }),
    });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { items: Array<{ itemId: string; score: number }>; model: { version: string } };
    expect(body.items).toHaveLength(7);
    expect(body.model.version).toMatch(/^v\d{4}$/);
    const bad = await fetch(`${demo.result.servingUrl}/v1/recommendations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"items": [',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_INPUT');
    expect(demo.result.traffic.failed).toBe(0);
    const logs = await readdir(path.join(dataDir, 'raw', 'serving'));
    expect(logs.length).toBeGreaterThan(0);
  });

  it('writes a drift report (HTML + Evidently snapshot), detects the drifted traffic and retrains', async () => {
    expect(await readFile(demo.result.reportPath, 'utf8')).toContain('<svg');
    const snapshot = JSON.parse(await readFile(demo.result.snapshotPath, 'utf8')) as Record<string, unknown>;
    expect(snapshot).toHaveProperty('metric_results');
    expect(demo.result.datasetDrift).toBe(true);
    expect(demo.result.retrainWorkflowId).toMatch(/^retrain-/);
    // After v0001 (and the baseline a promote-best run registers when it wins).
    expect((demo.result.retrain as { modelVersion: string }).modelVersion).toBe(
      demo.result.promotedVersion === 'v0002' ? 'v0003' : 'v0002',
    );
  });

  it.skipIf(!chromiumPath)(
    'shows the run in the dashboard, in headless Chromium, and answers the "try it" box',
    async () => {
      const browser = await chromium.launch({
        executablePath: chromiumPath!,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
        await page.goto(demo.result.dashboardUrl);
        await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
        // The registry table shows this run's versions with the metrics the pipeline measured.
        const hr = await page.textContent('#registry-table tr[data-version="v0001"] td.hr20');
        expect(hr).toBe(demo.result.metrics['hr@20']!.toFixed(4));
        expect(await page.textContent('#registry-table')).toContain('production');
        // Charts were drawn (Chart.js sizes the canvas when it renders).
        expect(await page.$eval('#training-chart', (c) => (c as unknown as { width: number }).width)).toBeGreaterThan(
          0,
        );
        // The monitoring verdicts of the run.
        const verdict = await page.textContent('#monitoring-verdict');
        expect(verdict).toBe(demo.result.datasetDrift ? 'dataset drift' : 'no dataset drift');
        expect(await page.textContent('#monitoring-table')).toContain('session_length');
        // Every training attempt is tracked, with its Temporal run.
        expect(await page.textContent('#runs-table')).toContain('finished');
        // "Try it": the box is prefilled with known items; results come back with metadata.
        await page.fill('#try-k', '5');
        await page.click('#try-button');
        await page.waitForSelector('#try-results tr.try-row:nth-child(5)');
        expect(await page.textContent('#try-results')).toMatch(/c\d\d/);
        await mkdir(artifactsDir, { recursive: true });
        await page.screenshot({ path: path.join(artifactsDir, 'dashboard.png'), fullPage: true });
      } finally {
        await browser.close();
      }
    },
  );

  it('runs every shell block of README.md and docs/tutorial.md, as written, against this demo', async () => {
    const docs = ['README.md', path.join('docs', 'tutorial.md')];
    const lines = (
      await Promise.all(docs.map(async (d) => shellLines(await readFile(path.join(repoRoot, d), 'utf8'))))
    ).flat();
    const byKind: Partial<Record<ReturnType<typeof classify>, string[]>> = {};
    for (const l of lines) (byKind[classify(l)] ??= []).push(l);
    expect(byKind.unknown ?? [], 'lines the docs test cannot run').toEqual([]);
    expect(byKind.skiff?.length ?? 0).toBeGreaterThanOrEqual(15);
    // npm lines are .ci/run's own commands, on a fresh clone; the demo's --drift is this file's demo.
    expect(new Set(byKind.npm?.map((l) => l.replace(/\s+#.*$/, '')))).toEqual(
      new Set(['npm ci && npm run demo', 'npm run demo -- --once', 'npm test', 'npm run demo -- --once --drift']),
    );
    const serving = new URL(demo.result.servingUrl).host;
    // As a user types them: bash in the repository, `npx skiff` through the root package's bin, the
    // data dir and the Temporal server of this demo from the environment, the demo's serving port.
    const env = {
      ...process.env,
      SKIFF_DATA_DIR: dataDir,
      SKIFF_TEMPORAL_PORT: String(temporalPort),
      SKIFF_TEMPORAL_UI_PORT: String(temporalUiPort),
      SKIFF_LOG_FORMAT: 'json',
    };
    for (const line of [...(byKind.skiff ?? []), ...(byKind.curl ?? [])]) {
      const command = line.replaceAll('localhost:8080', serving);
      const r = await run('bash', ['-o', 'pipefail', '-c', command], { cwd: repoRoot, env, maxBuffer: 32 << 20 }).catch(
        (e: { stderr?: string; stdout?: string; code?: number }) => {
          throw new Error(`\`${line}\` failed (exit ${e.code}): ${e.stderr ?? ''}${e.stdout?.slice(-2000) ?? ''}`);
        },
      );
      if (line.startsWith('curl ')) expect(r.stdout.length, line).toBeGreaterThan(0);
    }
  }, 900_000);

  it('answers `skiff registry list --json` with the versions and aliases', async () => {
    const { stdout } = await run(process.execPath, [cliMain, 'registry', 'list', '--json', '--data-dir', dataDir]);
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      versions: Array<{ version: string }>;
      aliases: Record<string, string>;
    };
    expect(last.versions.map((v) => v.version).slice(0, 2)).toEqual(['v0001', 'v0002']);
    expect(last.versions.map((v) => v.version)).toContain(last.aliases['production']);
  });
});
