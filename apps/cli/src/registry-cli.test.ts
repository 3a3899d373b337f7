import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AliasEvent, Lineage, MetricPoint, ModelManifest, RunInfo } from '@skiff/core';
import { createFsRegistry, createFsTracker, type SideBySideRow } from '@skiff/registry';
import { runCliInProcess, runCliProcess } from './test-helpers/cli.js';

/**
 * `skiff registry …` and `skiff runs …` on a data dir filled through the real fs registry and
 * tracker; both the `--json` object and the human text are checked. The commands run in this
 * process (dozens of process starts would take a minute); the last test runs the built CLI as a
 * process, like e2e.test.ts, for the exit code and stderr of the real entry point.
 */
describe('skiff registry / skiff runs', () => {
  let root: string;
  let dataDir: string;
  let runA: RunInfo;
  let runB: RunInfo;
  let runC: RunInfo;

  /** Runs the CLI on the test data dir; never throws (the exit code is in the result). */
  const cli = (...args: string[]) => runCliInProcess([...args, '--data-dir', dataDir, '--log-level', 'warn']);
  /** `--json`: the last line of stdout, parsed; the command must succeed. */
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await cli(...args, '--json');
    expect(r.stderr, `${args.join(' ')}: ${r.stderr}`).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, 'with --json, stdout holds only the JSON object').toHaveLength(1);
    return JSON.parse(lines[0]!) as T;
  };
  /** Human text: stdout lines; the command must succeed. */
  const text = async (...args: string[]): Promise<string[]> => {
    const r = await cli(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  };
  /** A refused command: non-zero exit, one line `skiff: CODE: reason` on stderr, nothing on stdout. */
  const fails = async (code: string, ...args: string[]): Promise<string> => {
    const r = await cli(...args, '--json');
    expect(r.code, args.join(' ')).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^skiff: ${code}: `));
    return r.stderr.trim();
  };

  beforeAll(async () => {
    // The fs registry and tracker, whatever the environment says.
    delete process.env['SKIFF_MLFLOW_TRACKING_URI'];
    root = await mkdtemp(path.join(os.tmpdir(), 'skiff-registry-cli-'));
    dataDir = path.join(root, 'data');
    // Two artifact folders that differ in one file.
    const artifact = async (name: string, weights: number[]) => {
      const dir = path.join(root, name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'model.json'), '{"format":"test"}');
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from(weights));
      return dir;
    };
    let clock = Date.UTC(2026, 2, 1, 12, 0, 0);
    const now = () => new Date((clock += 60_000));
    const registry = createFsRegistry({ root: path.join(dataDir, 'registry'), now, actor: 'fixture' });
    const lineage = (n: number): Lineage => ({
      snapshotId: `snap-00000000000${n}`,
      loadIds: [`load-${n}`],
      workflowId: `wf-${n}`,
      runId: `run-${n}`,
      codeVersion: 'skiff@0.0.0',
      backend: 'js',
    });
    await registry.register({
      name: 'gru4rec',
      sourceDir: await artifact('a1', [1, 2, 3]),
      metrics: { 'hr@20': 0.25, 'mrr@20': 0.1 },
      baselineMetrics: { pop: { 'hr@20': 0.05 } },
      params: { model: 'gru4rec', epochs: 3, learningRate: 0.005 },
      lineage: lineage(1),
    });
    await registry.register({
      name: 'gru4rec',
      sourceDir: await artifact('a2', [1, 2, 4]),
      metrics: { 'hr@20': 0.375, 'mrr@20': 0.125, 'ndcg@20': 0.2 },
      baselineMetrics: { pop: { 'hr@20': 0.05 } },
      params: { model: 'gru4rec', epochs: 5, learningRate: 0.005 },
      lineage: lineage(2),
    });
    // A baseline without the metrics `list` shows.
    await registry.register({
      name: 'pop',
      sourceDir: await artifact('a3', [9]),
      metrics: {},
      params: { model: 'pop' },
      lineage: lineage(3),
    });

    const tracker = createFsTracker({ root: path.join(dataDir, 'runs'), now });
    runA = await tracker.startRun({
      experiment: 'gru4rec',
      name: 'train-a',
      tags: { snapshotId: 'snap-1' },
      params: { epochs: 3, batchSize: 128 },
    });
    for (const [step, loss] of [0.9, 0.7, 0.5].entries()) await tracker.logMetrics(runA.runId, { loss }, step + 1);
    await tracker.logMetrics(runA.runId, { trainSeconds: 12 }, 3);
    runA = await tracker.endRun(runA.runId, { status: 'finished' });
    runB = await tracker.startRun({ experiment: 'gru4rec', name: 'train-a', params: { epochs: 5, batchSize: 128 } });
    await tracker.logMetrics(runB.runId, { loss: 0.8 }, 1);
    runB = await tracker.endRun(runB.runId, { status: 'failed', error: 'worker lost' });
    runC = await tracker.startRun({ experiment: 'sr', name: 'train-c', params: { model: 'sr' } });
  }, 60_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('registry list: every version oldest first with metrics and aliases', async () => {
    const r = await json<{ versions: ModelManifest[]; aliases: Record<string, string> }>('registry', 'list');
    expect(r.versions.map((v) => [v.version, v.name, v.metrics['hr@20']])).toEqual([
      ['v0001', 'gru4rec', 0.25],
      ['v0002', 'gru4rec', 0.375],
      ['v0003', 'pop', undefined],
    ]);
    expect(r.aliases).toEqual({});
    const lines = await text('registry', 'list');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('v0001  gru4rec  hr@20=0.2500 mrr@20=0.1000  2026-03-01T12:01:00.000Z');
    // A version without these metrics shows `-`, not NaN.
    expect(lines[2]).toBe('v0003  pop      hr@20=- mrr@20=-  2026-03-01T12:03:00.000Z');
    expect(lines.join('\n')).not.toContain('NaN');
  });

  it('registry show: the manifest, re-verified, by version or alias', async () => {
    const m = await json<ModelManifest & { dir: string; aliases: string[] }>('registry', 'show', 'v0002');
    expect(m).toMatchObject({
      version: 'v0002',
      name: 'gru4rec',
      params: { epochs: 5 },
      lineage: { snapshotId: 'snap-000000000002', loadIds: ['load-2'] },
      aliases: [],
    });
    expect(m.dir).toBe(path.join(dataDir, 'registry', 'versions', 'v0002'));
    expect(Object.keys(m.files).sort()).toEqual(['model.json', 'weights.bin']);
    const lines = await text('registry', 'show', 'v0001');
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ version: 'v0001', metrics: { 'hr@20': 0.25 } });
    expect(await fails('MODEL_NOT_FOUND', 'registry', 'show', 'v0042')).toContain('v0042');
    expect(await fails('MODEL_NOT_FOUND', 'registry', 'show', 'production')).toContain('production');
    await fails('BAD_INPUT', 'registry', 'show', '../etc');
  });

  it('registry diff: params, metrics (with Δ), baselines, lineage and files side by side', async () => {
    type Diff = {
      a: string;
      b: string;
      params: SideBySideRow[];
      metrics: SideBySideRow[];
      baselines: SideBySideRow[];
      lineage: SideBySideRow[];
      files: SideBySideRow[];
    };
    const d = await json<Diff>('registry', 'diff', 'v0001', 'v0002');
    expect(d.a).toBe('v0001');
    expect(d.b).toBe('v0002');
    expect(d.metrics).toEqual([
      { key: 'hr@20', a: 0.25, b: 0.375, same: false, delta: 0.125 },
      { key: 'mrr@20', a: 0.1, b: 0.125, same: false, delta: expect.closeTo(0.025, 12) as number },
      { key: 'ndcg@20', a: null, b: 0.2, same: false },
    ]);
    expect(d.params.find((r) => r.key === 'epochs')).toEqual({ key: 'epochs', a: 3, b: 5, same: false, delta: 2 });
    expect(d.params.find((r) => r.key === 'learningRate')).toMatchObject({ same: true });
    expect(d.baselines).toEqual([{ key: 'pop.hr@20', a: 0.05, b: 0.05, same: true, delta: 0 }]);
    expect(d.lineage.find((r) => r.key === 'snapshotId')).toMatchObject({
      a: 'snap-000000000001',
      b: 'snap-000000000002',
      same: false,
    });
    expect(d.files.find((r) => r.key === 'model.json')).toMatchObject({ same: true });
    expect(d.files.find((r) => r.key === 'weights.bin')).toMatchObject({ same: false });

    const lines = await text('registry', 'diff', 'v0001', 'v0002');
    expect(lines).toContain('metrics:');
    expect(lines).toContain('  * hr@20    0.2500  0.3750  +0.1250');
    expect(lines).toContain('  * ndcg@20  -       0.2000');
    expect(lines).toContain('    pop.hr@20  0.0500  0.0500  +0.0000');
    // Params in full (not rounded to 4 decimals like metrics), no trailing blanks.
    expect(lines).toContain('  * epochs        3        5');
    expect(lines).toContain('    learningRate  0.005    0.005');
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
    expect(lines.find((l) => l.includes('snapshotId'))).toMatch(
      /^ {2}\* snapshotId +snap-000000000001 +snap-000000000002$/,
    );
  });

  it('registry promote / rollback / history: aliases move, are recorded, and refuse what cannot be done', async () => {
    type Move = { alias: string; version: string; previous: string | null; event: AliasEvent };
    const first = await json<Move>('registry', 'promote', 'v0001');
    expect(first).toMatchObject({
      alias: 'production',
      version: 'v0001',
      previous: null,
      event: { action: 'set', from: null, to: 'v0001' },
    });
    expect(first.event.reason).toContain('manual promote of v0001');

    expect(await text('registry', 'promote', 'v0002', '--reason', 'better hr@20', '--actor', 'alice')).toEqual([
      'production: v0001 → v0002',
    ]);
    const staging = await json<Move>('registry', 'promote', 'v0003', '--alias', 'staging');
    expect(staging).toMatchObject({ alias: 'staging', version: 'v0003', previous: null });
    // Promoting an alias copies its target.
    expect(await json<Move>('registry', 'promote', 'production', '--alias', 'candidate')).toMatchObject({
      alias: 'candidate',
      version: 'v0002',
    });

    const shown = await json<{ aliases: string[] }>('registry', 'show', 'production');
    expect(shown.aliases.sort()).toEqual(['candidate', 'production']);
    expect((await text('registry', 'show', 'v0002')).at(-1)).toBe('aliases: production, candidate');
    const listed = await text('registry', 'list');
    expect(listed[1]).toMatch(/ production,candidate$/);

    const back = await json<Move>('registry', 'rollback', '--reason', 'regression');
    expect(back).toMatchObject({
      alias: 'production',
      version: 'v0001',
      previous: 'v0002',
      event: { action: 'rollback', from: 'v0002', to: 'v0001', reason: 'regression' },
    });
    expect((await json<{ aliases: Record<string, string> }>('registry', 'list')).aliases).toEqual({
      production: 'v0001',
      staging: 'v0003',
      candidate: 'v0002',
    });
    // Nothing earlier to go back to; an alias that was never set; a version that does not exist.
    expect(await fails('BAD_INPUT', 'registry', 'rollback')).toContain('no earlier target');
    expect(await fails('BAD_INPUT', 'registry', 'rollback', '--alias', 'nightly')).toContain('not set');
    await fails('MODEL_NOT_FOUND', 'registry', 'promote', 'v0009');
    await fails('BAD_INPUT', 'registry', 'promote', 'v0001', '--alias', 'v2');

    const h = await json<{ events: AliasEvent[] }>('registry', 'history', '--alias', 'production');
    expect(h.events.map((e) => [e.action, e.from, e.to, e.actor])).toEqual([
      ['set', null, 'v0001', expect.any(String)],
      ['set', 'v0001', 'v0002', 'alice'],
      ['rollback', 'v0002', 'v0001', expect.any(String)],
    ]);
    expect((await json<{ events: AliasEvent[] }>('registry', 'history')).events).toHaveLength(5);
    const hl = await text('registry', 'history', '--alias', 'production');
    expect(hl[1]).toMatch(/production +v0001 +→ v0002 +set +alice +better hr@20$/);

    // An alias on the left or right of a diff is shown with its version.
    const dl = await text('registry', 'diff', 'production', 'v0002');
    expect(dl[1]).toMatch(/^ {4}\s+production \(v0001\)\s+v0002 +Δ \(b−a\)$/);
  });

  it('refuses to show or promote a version whose files were altered', async () => {
    const weights = path.join(dataDir, 'registry', 'versions', 'v0003', 'weights.bin');
    await appendFile(weights, Buffer.from([0]));
    try {
      await fails('ARTIFACT_CORRUPTED', 'registry', 'show', 'v0003');
      await fails('ARTIFACT_CORRUPTED', 'registry', 'promote', 'v0003', '--alias', 'other');
      expect((await json<{ aliases: Record<string, string> }>('registry', 'list')).aliases['other']).toBeUndefined();
    } finally {
      await writeFile(weights, Buffer.from([9]));
    }
  });

  it('runs list: newest first, filtered by experiment, status and limit', async () => {
    const all = await json<{ runs: RunInfo[] }>('runs', 'list');
    expect(all.runs.map((r) => [r.runId, r.status])).toEqual([
      [runC.runId, 'running'],
      [runB.runId, 'failed'],
      [runA.runId, 'finished'],
    ]);
    expect(all.runs[2]!.metrics).toEqual({ loss: 0.5, trainSeconds: 12 });
    expect(
      (await json<{ runs: RunInfo[] }>('runs', 'list', '--experiment', 'gru4rec')).runs.map((r) => r.runId),
    ).toEqual([runB.runId, runA.runId]);
    expect((await json<{ runs: RunInfo[] }>('runs', 'list', '--status', 'failed')).runs.map((r) => r.runId)).toEqual([
      runB.runId,
    ]);
    expect((await json<{ runs: RunInfo[] }>('runs', 'list', '--limit', '1')).runs.map((r) => r.runId)).toEqual([
      runC.runId,
    ]);
    expect((await json<{ runs: RunInfo[] }>('runs', 'list', '--experiment', 'vsknn')).runs).toEqual([]);

    const lines = await text('runs', 'list');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      new RegExp(
        `^${runA.runId} {2}gru4rec {4}train-a {14}finished ${runA.startedAt} {2}loss=0\\.5000 trainSeconds=12$`,
      ),
    );
    expect(await text('runs', 'list', '--experiment', 'vsknn')).toEqual(['no runs yet']);

    expect(await fails('BAD_INPUT', 'runs', 'list', '--status', 'done')).toContain('--status must be one of');
    await fails('BAD_INPUT', 'runs', 'list', '--limit', '0');
    await fails('BAD_INPUT', 'runs', 'list', '--limit', 'many');
  });

  it('runs show: params, latest metrics and every point', async () => {
    const r = await json<RunInfo & { history: MetricPoint[] }>('runs', 'show', runA.runId);
    expect(r).toMatchObject({
      runId: runA.runId,
      experiment: 'gru4rec',
      name: 'train-a',
      status: 'finished',
      params: { epochs: '3', batchSize: '128' },
      tags: { snapshotId: 'snap-1' },
      metrics: { loss: 0.5 },
    });
    expect(r.history.filter((p) => p.key === 'loss').map((p) => [p.step, p.value])).toEqual([
      [1, 0.9],
      [2, 0.7],
      [3, 0.5],
    ]);
    const lines = await text('runs', 'show', runA.runId);
    expect(lines[0]).toBe(`${runA.runId}  gru4rec/train-a  finished  ${runA.startedAt} → ${runA.endedAt}`);
    expect(lines).toContain('  epochs = 3');
    expect(lines).toContain('  loss = 0.5000  (3 points: 1:0.9000 2:0.7000 3:0.5000)');
    expect(lines).toContain('  trainSeconds = 12  (1 point: 3:12)');
    expect((await text('runs', 'show', runB.runId))[0]).toMatch(/ failed .* error: worker lost$/);
    expect((await text('runs', 'show', runC.runId))[0]).toMatch(/ running +\S+ → …$/);
    expect(await fails('BAD_INPUT', 'runs', 'show', 'nope')).toContain('no run with id nope');
  });

  it('runs compare: outcome, params and latest metrics of two runs side by side', async () => {
    type Cmp = { a: string; b: string; run: SideBySideRow[]; params: SideBySideRow[]; metrics: SideBySideRow[] };
    const c = await json<Cmp>('runs', 'compare', runA.runId, runB.runId);
    expect(c.a).toBe(runA.runId);
    expect(c.run.find((r) => r.key === 'status')).toMatchObject({ a: 'finished', b: 'failed', same: false });
    expect(c.run.find((r) => r.key === 'error')).toMatchObject({ a: null, b: 'worker lost' });
    expect(c.run.find((r) => r.key === 'seconds')).toMatchObject({ a: expect.any(Number), b: expect.any(Number) });
    expect(c.params).toEqual([
      { key: 'batchSize', a: '128', b: '128', same: true },
      { key: 'epochs', a: '3', b: '5', same: false },
    ]);
    expect(c.metrics).toEqual([
      { key: 'loss', a: 0.5, b: 0.8, same: false, delta: expect.closeTo(0.3, 12) as number },
      { key: 'trainSeconds', a: 12, b: null, same: false },
    ]);

    const lines = await text('runs', 'compare', runA.runId, runB.runId);
    // Both runs are called train-a (e.g. two attempts of one workflow): the heads tell them apart.
    const head = lines[1]!;
    expect(head).toContain(`train-a (${runA.runId.slice(0, 8)})`);
    expect(head).toContain(`train-a (${runB.runId.slice(0, 8)})`);
    expect(lines).toContain('  * loss          0.5000              0.8000              +0.3000');
    expect(lines).toContain('  * error       -                         worker lost');
    expect(lines.find((l) => l.includes('status'))).toMatch(/^ {2}\* status +finished +failed$/);
    // Runs of different names keep their names as heads.
    expect((await text('runs', 'compare', runA.runId, runC.runId))[1]).toMatch(/^ +train-a +train-c$/);
    await fails('BAD_INPUT', 'runs', 'compare', runA.runId, 'nope');
  });

  it('the built CLI: --json as the last stdout line, a one-line reason and exit code 1 on failure', async () => {
    const env = { SKIFF_LOG_LEVEL: 'warn', SKIFF_MLFLOW_TRACKING_URI: '' };
    const [ok, bad] = await Promise.all([
      runCliProcess(['registry', 'list', '--json', '--data-dir', dataDir], env),
      runCliProcess(['runs', 'show', 'nope', '--data-dir', dataDir], env),
    ]);
    expect(ok.code).toBe(0);
    const last = JSON.parse(ok.stdout.trim().split('\n').at(-1)!) as {
      versions: ModelManifest[];
      aliases: Record<string, string>;
    };
    expect(last.versions.map((v) => v.version)).toEqual(['v0001', 'v0002', 'v0003']);
    expect(last.aliases['production']).toBe('v0001');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('skiff: BAD_INPUT: no run with id nope\n');
  });
});
