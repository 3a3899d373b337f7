import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@skiff/core';
import { fakePipelineSteps } from '@skiff/testing';
import { runMonitor } from '@skiff/monitoring';
import {
  applySchedules,
  connectClient,
  createSkiffWorker,
  findTemporalCli,
  freePort,
  MONITOR_SCHEDULE_ID,
  startDevServer,
  wrapActivities,
  type DevServer,
  type MonitoringOutcome,
  type SkiffClient,
} from '@skiff/orchestrator-temporal';
import { createAlertActivities, type PipelineSteps } from '@skiff/pipeline';
import { createFsRegistry } from '@skiff/registry';
import { createCatalogue, generateSessions, type DriftScenario } from '@skiff/simulator';
import { sequences } from './test-helpers/sessions.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const catalogue = createCatalogue({ items: 500, seed: 11 });
const start = new Date(Date.UTC(2026, 0, 1));

/**
 * Serving records as the app writes them: one per prefix of each session, with its requestId.
 * The served list holds the true next item (a model that is always right: online hr@20 = 1).
 */
function servingLines(sessions: string[][]): string {
  const lines: string[] = [];
  sessions.forEach((s, si) => {
    for (let i = 1; i < s.length; i++)
      lines.push(
        JSON.stringify({
          ts: new Date().toISOString(),
          requestId: `s${si}-${i}`,
          sessionId: `s${si}`,
          items: s.slice(0, i),
          k: 20,
          recommended: [{ itemId: s[i], score: 0.5 }],
          model: { name: 'm', version: 'v0001' },
        }),
      );
  });
  return lines.join('\n') + '\n';
}

/**
 * The closed loop through the real schedule: monitor (real runMonitor on files) → on drift, start
 * trainingPipeline (fake stages: this test is about the loop) and POST the alert to a receiver.
 */
describe('scheduled monitoring on a real Temporal dev server', () => {
  let server: DevServer;
  let sc: SkiffClient;
  let receiver: Server;
  const alerts: unknown[] = [];
  let webhook: string;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-loop-'));
    const cli = await findTemporalCli({ cacheDir: path.join(repoRoot, '.cache'), searchPath: '', allowInstall: true });
    server = await startDevServer({ cli, stateDir, port: await freePort(), uiPort: await freePort() });
    sc = await connectClient(server.address);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
  });
  afterAll(async () => {
    await sc?.close();
    await server?.stop();
    receiver?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  /**
   * `brokenModel`: traffic like training (no data drift), but what visitors clicked next is never
   * what was served — online hr@20 is 0 against the registered offline 0.6 (a quality drop).
   */
  async function scenario(
    name: string,
    drift: DriftScenario | undefined,
    options: { brokenModel?: boolean } = {},
  ): Promise<{ outcome: MonitoringOutcome; trainingCalls: string[]; alertsBefore: number }> {
    const dataDir = path.join(stateDir, name);
    const train = sequences(generateSessions({ catalogue, sessions: 2_000, seed: 1, start, days: 5 }));
    await mkdir(path.join(dataDir, 'snapshots', 'snap-a'), { recursive: true });
    await writeFile(path.join(dataDir, 'snapshots', 'snap-a', 'train.json'), JSON.stringify({ sessions: train }));
    await mkdir(path.join(dataDir, 'art'), { recursive: true });
    await writeFile(path.join(dataDir, 'art', 'model.json'), '{}');
    const registry = createFsRegistry({ root: path.join(dataDir, 'registry') });
    const v = await registry.register({
      name: 'm',
      sourceDir: path.join(dataDir, 'art'),
      metrics: { 'hr@20': 0.6 },
      params: {},
      lineage: { snapshotId: 'snap-a', loadIds: [], codeVersion: 't', backend: 'wasm' },
    });
    await registry.setAlias('production', v.version);
    const traffic = sequences(
      generateSessions({ catalogue, sessions: 400, seed: 2, start, days: 1, ...(drift ? { drift } : {}) }),
    );
    await mkdir(path.join(dataDir, 'serving'), { recursive: true });
    await writeFile(path.join(dataDir, 'serving', 'serving-1.ndjson'), servingLines(traffic));
    // Follow-up clicks, as the serving app logs them, each naming the recommendation it followed:
    // the true next item of every served prefix — or, for the broken model, an item never served.
    await mkdir(path.join(dataDir, 'online'), { recursive: true });
    const later = new Date(Date.now() + 60_000).toISOString();
    const events = traffic.flatMap((s, si) =>
      s.slice(1).map((item, i) => ({
        session_id: `s${si}`,
        event_type: 'click',
        item_id: options.brokenModel ? 'never-served' : item,
        timestamp: later,
        request_id: `s${si}-${i + 1}`,
      })),
    );
    await writeFile(
      path.join(dataDir, 'online', 'events-1.ndjson'),
      events.map((e) => JSON.stringify(e)).join('\n') + '\n',
    );

    const trainingCalls: string[] = [];
    const steps: PipelineSteps = fakePipelineSteps(trainingCalls, { modelVersion: 'v0002' });
    const activities = wrapActivities({
      ...steps,
      monitor: () =>
        runMonitor({
          registry,
          servingLogDir: path.join(dataDir, 'serving'),
          snapshotsDir: path.join(dataDir, 'snapshots'),
          reportsDir: path.join(dataDir, 'reports'),
          logger: silentLogger,
        }),
      ...createAlertActivities({ url: webhook, logger: silentLogger }),
    });
    const taskQueue = `loop-${name}`;
    const { worker, connection } = await createSkiffWorker({ address: server.address, taskQueue, activities });
    const alertsBefore = alerts.length;
    const outcome = await worker.runUntil(async () => {
      // Idempotent: the second scenario updates the schedule created by the first.
      await applySchedules(
        sc.client,
        {
          retrainOnDrift: true,
          retrainWorkflowId: `retrain-${name}`,
          training: { train: { model: 'gru4rec' } as never, promotionMetric: 'hr@20' },
        },
        { monitorEvery: '1h', retrainHour: 2, retrainMinute: 0, taskQueue },
      );
      const schedule = sc.client.schedule.getHandle(MONITOR_SCHEDULE_ID);
      const before = (await schedule.describe()).info.recentActions.length;
      await schedule.trigger();
      let runId: string | undefined;
      for (let i = 0; i < 200 && !runId; i++) {
        const recent = (await schedule.describe()).info.recentActions;
        if (recent.length > before) runId = recent.at(-1)!.action.workflow.workflowId;
        else await new Promise((r) => setTimeout(r, 100));
      }
      const out = (await sc.client.workflow.getHandle(runId!).result()) as MonitoringOutcome;
      if (out.retrainWorkflowId) await sc.client.workflow.getHandle(out.retrainWorkflowId).result();
      return out;
    });
    await connection.close();
    return { outcome, trainingCalls, alertsBefore };
  }

  it('no drift: neither retrains nor alerts', async () => {
    const { outcome, trainingCalls, alertsBefore } = await scenario('calm', undefined);
    expect(outcome.report.datasetDrift).toBe(false);
    // Judged (enough events) and fine: online 1 against the registered 0.6.
    expect(outcome.report.quality).toMatchObject({ online: 1, offline: 0.6, dropped: false });
    expect(outcome.trigger).toBeNull();
    expect(outcome.retrainWorkflowId).toBeNull();
    expect(trainingCalls).toEqual([]);
    expect(alerts.length).toBe(alertsBefore);
  });

  it('quality drop without data drift: starts one training run and posts a quality-drop alert', async () => {
    const { outcome, trainingCalls, alertsBefore } = await scenario('broken', undefined, { brokenModel: true });
    expect(outcome.report.datasetDrift).toBe(false);
    expect(outcome.report.quality).toMatchObject({ metric: 'hr@20', online: 0, offline: 0.6, dropped: true });
    expect(outcome.trigger).toBe('quality-drop');
    expect(outcome.retrainWorkflowId).toBe('retrain-broken');
    expect(trainingCalls).toEqual([
      'ingest',
      'transform',
      'validate',
      'snapshot',
      'train',
      'evaluate',
      'register',
      'promote',
    ]);
    expect(alerts.slice(alertsBefore)).toEqual([
      expect.objectContaining({
        kind: 'quality-drop',
        retrainWorkflowId: 'retrain-broken',
        driftedColumns: [],
        qualityDrop: expect.objectContaining({ metric: 'hr@20', online: 0, offline: 0.6, relativeDrop: 1 }),
      }),
    ]);
  });

  it('drift: starts one training run and posts the alert', async () => {
    const { outcome, trainingCalls, alertsBefore } = await scenario('drifted', { kind: 'longer-sessions' });
    expect(outcome.report.datasetDrift).toBe(true);
    expect(outcome.report.quality).toMatchObject({ online: 1, dropped: false });
    expect(outcome.trigger).toBe('drift');
    expect(outcome.retrainWorkflowId).toBe('retrain-drifted');
    expect(outcome.alerted).toBe(true);
    expect(trainingCalls).toEqual([
      'ingest',
      'transform',
      'validate',
      'snapshot',
      'train',
      'evaluate',
      'register',
      'promote',
    ]);
    expect(alerts.slice(alertsBefore)).toEqual([
      expect.objectContaining({
        kind: 'drift',
        retrainWorkflowId: 'retrain-drifted',
        modelVersion: 'v0001',
        driftedColumns: expect.arrayContaining(['session_length']),
      }),
    ]);
  });
});
