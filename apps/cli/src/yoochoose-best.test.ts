import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/orchestrator-temporal';
import { findPublicData, publicDataSkipReason, YOOCHOOSE_SAMPLE } from '@skiff/testing';
import { CLI_MAIN, runCliProcess } from './test-helpers/cli.js';

/**
 * The shipped `yoochoose-best` recipe end to end: from the YooChoose rsc15-100k sample's two raw
 * files in a fresh data dir, one `skiff train --config yoochoose-best` selects among the recipe's
 * candidates on validation, refits, and registers a model whose test HR@20 and MRR@20 both exceed
 * VSTAN's fitted in the same run (VSTAN is among the gate's baselines, which the config names);
 * then `skiff serve` serves it over real HTTP and the served lists give exactly the registered
 * numbers. About a minute on two idle cores (no tfjs training).
 *
 * Without the data (data/README.md, Public data) the test is skipped saying where it looked.
 */
const TRAIN = 'yoochoose-clicks-100k_train_full.txt';
const TEST = 'yoochoose-clicks-100k_test.txt';
const lookup = findPublicData(YOOCHOOSE_SAMPLE, [TRAIN, TEST], process.env);
const dataDir = lookup.dir;
const title = dataDir
  ? `yoochoose-best through skiff train and skiff serve (${dataDir})`
  : `yoochoose-best through skiff train and skiff serve (skipped: ${publicDataSkipReason(YOOCHOOSE_SAMPLE, lookup)})`;

interface RunJson {
  modelVersion: string;
  snapshotId: string;
  metrics: Record<string, number>;
  baselines: Record<string, Record<string, number>>;
  predictions: number;
  promoted: boolean;
  promotedVersion?: string;
  promotionReason: string;
  candidates?: { chosen: string; candidates: Array<{ name: string; validation: Record<string, number> }> };
}

describe.skipIf(!dataDir)(title, () => {
  let root: string | undefined;
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('registers a hybrid that beats VSTAN on test HR@20 and MRR@20, and serves the same lists over HTTP', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'skiff-yoochoose-best-'));
    await mkdir(path.join(root, 'raw'));
    for (const f of [TRAIN, TEST]) await copyFile(path.join(dataDir!, f), path.join(root, 'raw', f));
    const env = { SKIFF_LOG_LEVEL: 'warn', SKIFF_MLFLOW_TRACKING_URI: '' };
    const r = await runCliProcess(
      ['train', '--inline', '--config', 'yoochoose-best', '--json', '--no-progress', '--data-dir', root],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RunJson;
    expect(run.predictions).toBe(10_152);
    // The recipe's candidates were compared on validation by the run itself.
    expect(run.candidates?.candidates.length).toBeGreaterThan(1);
    expect(run.candidates?.chosen).toMatch(/^trial-\d+$/);
    const vstan = run.baselines['vstan'];
    expect(vstan, `baselines of the run: ${Object.keys(run.baselines).join(', ')}`).toBeDefined();
    for (const k of ['hr@20', 'mrr@20'])
      expect(run.metrics[k]!, `${k}: hybrid ${run.metrics[k]} vs VSTAN ${vstan![k]}`).toBeGreaterThan(vstan![k]!);
    // Not won by collapsing onto popular items: no more popular and covering as much as V-SKNN.
    expect(run.metrics['popbias@20']!).toBeLessThan(run.baselines['vsknn']!['popbias@20']!);
    expect(run.metrics['coverage@20']!).toBeGreaterThan(run.baselines['vsknn']!['coverage@20']!);
    expect(run.promoted, run.promotionReason).toBe(true);
    expect(run.promotedVersion).toBe(run.modelVersion);

    // The evaluation's prediction points: every prefix of every test session (all items are known).
    const snap = path.join(root, 'snapshots', run.snapshotId);
    const read = async (f: string) =>
      (JSON.parse(await readFile(path.join(snap, f), 'utf8')) as { sessions: string[][] }).sessions;
    const known = new Set([...(await read('train.json')), ...(await read('validation.json'))].flat());
    const points: Array<{ items: string[]; target: string }> = [];
    for (const raw of await read('test.json')) {
      const s = raw.filter((i) => known.has(i));
      for (let i = 1; i < s.length; i++) points.push({ items: s.slice(0, i), target: s[i]! });
    }
    expect(points.length).toBe(run.predictions);

    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI_MAIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', root],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      let ready = false;
      for (let i = 0; i < 600 && !ready; i++) {
        ready = (await fetch(`${url}/readyz`).catch(() => null))?.status === 200;
        if (!ready) await new Promise((res) => setTimeout(res, 100));
      }
      expect(ready, stderr).toBe(true);
      let hr = 0;
      let mrr = 0;
      for (let off = 0; off < points.length; off += 100) {
        const batch = points.slice(off, off + 100);
        const res = await fetch(`${url}/v1/recommendations:batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ requests: batch.map((p) => ({ items: p.items, k: 20 })) }),
        });
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as {
          results: Array<{ items: Array<{ itemId: string }> }>;
          model: { name: string; version: string };
        };
        expect(body.model).toEqual({ name: 'hybrid', version: run.modelVersion });
        body.results.forEach((x, j) => {
          expect(x.items).toHaveLength(20);
          const rank = x.items.findIndex((it) => it.itemId === batch[j]!.target);
          if (rank >= 0) {
            hr += 1;
            mrr += 1 / (rank + 1);
          }
        });
      }
      expect(hr / points.length).toBeCloseTo(run.metrics['hr@20']!, 12);
      expect(mrr / points.length).toBeCloseTo(run.metrics['mrr@20']!, 12);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 600_000);
});
