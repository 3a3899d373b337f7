import { expect } from 'vitest';
import type { GateDecision } from '@skiff/pipeline';
import { createFsRegistry } from '@skiff/registry';
import { DEMO_TRAIN_CONFIG, type DemoResult } from '../commands/demo.js';
import { readTrainingConfig } from '../commands/model.js';

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What the demo printed about its training run (`out`, every line it said) against what the gate
 * recorded: the decision kept in the registered version's manifest and the moves of `production`.
 * Checks that every candidate is listed with its validation scores and the chosen one is the best
 * of them; that the test table shows each model's value of the gate metric and, on each row, the
 * interval the gate judged; and that the outcome line names the model the gate promoted (or says
 * there was no clear winner) and the version `production` points to.
 */
export async function expectDemoOutputMatchesGate(
  said: string,
  r: DemoResult,
  registryRoot: string,
  trainingConfig: string = DEMO_TRAIN_CONFIG,
): Promise<void> {
  // Step 3 only: a drift retraining prints a table of its own later on.
  const end = said.indexOf('\n[4/6]');
  const out = end >= 0 ? said.slice(0, end) : said;
  expect(out).toContain('[3/6] trainingPipeline');
  const registry = createFsRegistry({ root: registryRoot });
  const { manifest } = await registry.get(r.modelVersion);
  const recorded = manifest.params['gate'] as GateDecision;
  // The gate's recorded decision is the one the run returned (and printed from).
  expect(recorded).toEqual(r.decision);
  const d = recorded;
  const cmp = r.comparison!;
  expect(d.metric).toBe('hr@20');

  // Model selection: every candidate on validation, the best one chosen and refit.
  const sel = r.candidates!;
  expect(sel.candidates.length).toBeGreaterThanOrEqual(2);
  expect(out).toContain(
    `candidates (trained on train, scored on validation; chosen: ${sel.chosen}, refit on train + validation):`,
  );
  for (const c of sel.candidates)
    expect(out).toMatch(
      new RegExp(
        `^  ${escape(c.name)} +val HR@20 ${c.validation['hr@20'].toFixed(4)}  MRR@20 ${c.validation['mrr@20'].toFixed(4)}`,
        'm',
      ),
    );
  const best = sel.candidates.reduce((a, b) => (b.score > a.score ? b : a));
  expect(sel.chosen).toBe(best.name);
  // The registered candidate is the chosen candidate's refit: the params that tell the candidates
  // apart are its. Taken from the config's full params, not the run's summary: the summary shows
  // only the params that differ from the base, so for the base-like candidate it shows none.
  const configured = (await readTrainingConfig(trainingConfig)).candidates!;
  expect(configured.map((c) => c.name)).toEqual(sel.candidates.map((c) => c.name));
  const full = (c: { params: object }) => c.params as Record<string, unknown>;
  // An absent repeatWindow is the model without the repeat term, as 0 is.
  const value = (k: string, v: unknown) => v ?? (k === 'repeatWindow' ? 0 : null);
  const keys = [...new Set(configured.flatMap((c) => Object.keys(full(c))))].filter((k) =>
    configured.some((c) => value(k, full(c)[k]) !== value(k, full(configured[0]!)[k])),
  );
  expect(keys.length).toBeGreaterThan(0);
  const chosen = full(configured.find((c) => c.name === sel.chosen)!);
  for (const k of keys) expect(value(k, manifest.params[k]), k).toEqual(value(k, chosen[k]));

  // The test table: each model's HR@20 as the gate compared it, and the gate's interval on its row.
  const conf = `${Math.round(d.confidence * 1000) / 10}%`;
  expect(out).toContain(`  test: ${cmp.predictions} predictions; gate on hr@20, policy ${d.policy}`);
  const checks = new Map(d.checks.map((c) => [c.against, c]));
  for (const [name, m] of Object.entries(cmp.models)) {
    if (m.role === 'champion') continue;
    const head = name === 'candidate' ? '  candidate {11}' : `  baseline ${escape(name.toUpperCase())} +`;
    const c = checks.get(name);
    const tail = c
      ? `${escape(d.contender)} − ${escape(name)}: ${escape(signed(c.diff))} \\[${escape(conf)} CI ${escape(signed(c.lo))}, ${escape(signed(c.hi))}\\]`
      : '\\d';
    // The judged model's own row carries no interval; every other row carries the gate's.
    expect(c === undefined).toBe(name === d.contender);
    expect(out).toMatch(new RegExp(`^${head}${m.value.toFixed(4)} .*${tail}$`, 'm'));
  }
  expect(d.contenderValue).toBe(
    Math.max(...Object.values(cmp.models).flatMap((m) => (m.role === 'champion' ? [] : [m.value]))),
  );

  // The decision in words, and what production points to, as the registry recorded it.
  expect(out).toContain(`  ${r.outcome}`);
  const cleared = d.checks.every((c) => c.lo > 0);
  expect(r.outcome.startsWith('NO CLEAR WINNER')).toBe(!cleared);
  expect(Boolean(d.fallback)).toBe(!cleared && d.promote !== null);
  const history = await registry.history('production');
  const mine = history.filter((e) => e.actor === `pipeline:${r.workflowId}`);
  if (d.promote) {
    expect(r.promoted).toBe(true);
    expect(mine.map((e) => e.to)).toEqual([r.promotedVersion]);
    expect(mine[0]!.reason).toMatch(d.fallback ? /no clear winner: / : / beats all: /);
    const promoted = (await registry.get(r.promotedVersion!)).manifest;
    expect(promoted.name).toBe(d.promote === 'candidate' ? manifest.name : d.promote);
    expect(r.outcome).toContain(
      d.promote === 'candidate' ? `the candidate ${sel.chosen} ${r.modelVersion}` : `the ${d.promote} baseline`,
    );
    expect(r.outcome).toContain(r.promotedVersion!);
    expect(r.servedVersion).toBe(r.promotedVersion);
  } else {
    expect(r.promoted).toBe(false);
    expect(mine).toEqual([]);
    expect(r.servedVersion).toBe(d.champion);
  }
}
