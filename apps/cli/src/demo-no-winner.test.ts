import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@skiff/orchestrator-temporal';
import { decideGate, type PipelineRunResult } from '@skiff/pipeline';
import { createFsRegistry } from '@skiff/registry';
import { createContext } from './context.js';
import { demoOutcome, runDemo, type DemoHandle } from './commands/demo.js';
import { expectDemoOutputMatchesGate } from './test-helpers/demo-output.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The demo when its gate finds no clear winner, on the real loop (simulator → DuckDB → Temporal
 * training → registry → HTTP serving → monitoring). A small week and a test split of a fraction of
 * an hour leave a few dozen test predictions, and a 99.9 % interval: no model of the run can beat
 * every other for certain. On a fresh data dir the demo must then say so and serve the run's best
 * model on the point estimate — never nothing, and never a model another model of the run beat.
 * The demo's default candidate set goes through model selection first (1 epoch each here).
 */
describe('the demo with no clear winner', () => {
  let dataDir: string;
  let first: DemoHandle | undefined;
  let second: DemoHandle | undefined;
  const lines: string[] = [];
  const again: string[] = [];
  const registry = () => createFsRegistry({ root: path.join(dataDir, 'registry') });

  /** A demo run on `dataDir` (fresh Temporal ports each time; the Temporal db and registry stay). */
  const demo = async (out: string[]) => {
    const ctx = createContext(
      { dataDir, json: true, logLevel: 'warn' },
      {
        temporalPort: await freePort(),
        temporalUiPort: await freePort(),
        cacheDir: path.join(repoRoot, '.cache'),
        splitTestDays: 0.04,
        splitMinSessions: 5,
        splitMinPredictions: 20,
        promotionConfidence: 0.999,
      },
    );
    ctx.say = (line) => void out.push(line);
    return runDemo(ctx, { once: true, sessions: 1_500, items: 300, days: 3, seed: 5, epochs: 1, trafficSessions: 20 });
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-demo-nowinner-'));
    first = await demo(lines);
  }, 600_000);

  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('says there is no clear winner and serves the best model of the run, which no model of the run beat', async () => {
    const r = first!.result;
    const d = r.decision!;
    const cmp = r.comparison!;
    expect(d.policy).toBe('promote-best');
    // The gate's own verdict: the best model did not clear every interval.
    expect(d.checks.some((c) => !c.passed)).toBe(true);
    expect(d.champion).toBeNull();
    expect(d.fallback).toBe('serve-best');
    const best = Object.entries(cmp.models)
      .filter(([, m]) => m.role !== 'champion')
      .reduce((a, b) => (b[1].value > a[1].value ? b : a));
    expect(d.promote).toBe(best[0]);
    // Nothing of the run beat the served model: every interval of another model minus it reaches 0 or below.
    for (const p of cmp.pairs.filter((x) => x.b === d.promote)) expect(p.lo).toBeLessThanOrEqual(0);
    expect(r.promoted).toBe(true);
    expect(r.servedVersion).toBe(r.promotedVersion);
    const ready = (await (await fetch(`${r.servingUrl}/readyz`)).json()) as {
      model: { name: string; version: string };
    };
    expect(ready.model).toEqual({
      name: d.promote === 'candidate' ? (await registry().get(r.modelVersion)).manifest.name : d.promote,
      version: r.promotedVersion,
    });
    expect(r.traffic.ok).toBeGreaterThan(0);
    const [move] = await registry().history('production');
    expect(move).toMatchObject({ from: null, to: r.promotedVersion });
    expect(move!.reason).toMatch(/no clear winner: .* does not beat .*99\.9% CI/);
  });

  it('prints the candidate, the baselines, every interval and the decision in plain words', () => {
    const r = first!.result;
    const out = lines.join('\n');
    const interval = '[+−]\\d\\.\\d{4} \\[99\\.9% CI [+−]\\d\\.\\d{4}, [+−]\\d\\.\\d{4}\\]';
    // Every model's line, with the interval of the judged model minus it (none on the judged model's own line).
    const rows: Array<[string, string]> = [
      ['candidate', '  candidate {11}0\\.\\d{4}'],
      ['pop', '  baseline POP +0\\.\\d{4}'],
      ['sr', '  baseline SR +0\\.\\d{4}'],
      ['vsknn', '  baseline VSKNN +0\\.\\d{4}'],
    ];
    for (const [name, head] of rows)
      expect(out).toMatch(
        new RegExp(
          `^${head}.*${name === r.decision!.contender ? '\\d$' : `${r.decision!.contender} − ${name}: ${interval}$`}`,
          'm',
        ),
      );
    expect(out).toMatch(/no clear winner: .* does not beat /);
    expect(r.outcome).toMatch(
      /^NO CLEAR WINNER: no model beat every other at 99\.9%; production was empty, so the demo serves the best model of the run on the point estimate, /,
    );
    expect(out).toContain(`  ${r.outcome}`);
    expect(out).toMatch(new RegExp(`production: ${r.promotedVersion} \\(`));
  });

  it('prints the candidates on validation and the test table and decision exactly as the gate recorded them', async () => {
    await expectDemoOutputMatchesGate(lines.join('\n'), first!.result, path.join(dataDir, 'registry'));
  });

  it('run again with that model in production: still no clear winner, so the champion stays and is served', async () => {
    const champion = first!.result.promotedVersion!;
    await first!.close();
    first = undefined;
    // The same logs again: the same snapshot, so this run's best model ties the champion at best.
    second = await demo(again);
    const r = second.result;
    expect(r.decision!.champion).toBe(champion);
    expect(r.decision!.promote).toBeNull();
    expect(r.promoted).toBe(false);
    expect(r.servedVersion).toBe(champion);
    expect(r.outcome).toBe(
      `NO CLEAR WINNER: no model of the run beat every other at 99.9%; production stays the existing champion ${champion}.`,
    );
    expect(again.join('\n')).toContain(`  ${r.outcome}`);
    expect((await registry().history('production')).map((e) => e.to)).toEqual([champion]);
    await expectDemoOutputMatchesGate(again.join('\n'), r, path.join(dataDir, 'registry'));
  }, 600_000);
});

describe('demoOutcome', () => {
  // A champion in production and no clear winner: the champion stays, and the demo says so.
  it('keeps the existing champion when no model of the run wins clearly', () => {
    const models = {
      candidate: { role: 'candidate' as const, value: 0.5 },
      sr: { role: 'baseline' as const, value: 0.52 },
      champion: { role: 'champion' as const, value: 0.51, version: 'v0003' },
    };
    const pair = (a: string, b: string, diff: number) => ({ a, b, diff, lo: diff - 0.03, hi: diff + 0.03 });
    const comparison = {
      metric: 'hr@20',
      confidence: 0.95,
      resamples: 1000,
      seed: 7,
      predictions: 500,
      models,
      pairs: [
        pair('candidate', 'sr', -0.02),
        pair('candidate', 'champion', -0.01),
        pair('sr', 'candidate', 0.02),
        pair('sr', 'champion', 0.01),
      ],
    };
    const decision = decideGate(comparison, 'promote-best', { noWinner: 'serve-best' });
    expect(decision.promote).toBeNull();
    const run = {
      modelVersion: 'v0004',
      promoted: false,
      promotionReason: `not promoted: ${decision.reason}`,
      decision,
      comparison,
    } as unknown as PipelineRunResult;
    expect(demoOutcome(run)).toBe(
      'NO CLEAR WINNER: no model of the run beat every other at 95%; production stays the existing champion v0003.',
    );
  });
});
