import { describe, expect, it } from 'vitest';
import {
  silentLogger,
  type MonitorRunResult,
  type MonitoringRunRow,
  type Recommender,
  type Warehouse,
} from '@skiff/core';
import { createMonitoringActivities, type MonitoringDeps } from './monitoring-activities.js';

const result = {
  datasetDrift: true,
  driftShare: 0.5,
  share: 0.75,
  columns: [
    { column: 'session_length', method: 'wasserstein', score: 0.3, threshold: 0.1, drifted: true },
    { column: 'category', method: 'jensenshannon', score: 0.01, threshold: 0.1, drifted: false },
  ],
  snapshotPath: '/r/snapshot.json',
  htmlPath: '/r/report.html',
  jsonPath: '/r/drift.json',
  referenceRows: 10,
  currentRows: 20,
  modelVersion: 'v0001',
  online: { records: 20, withNextEvent: 5, 'hr@20': 0.4, 'mrr@20': 0.2, 'hr@k': 0.4, 'mrr@k': 0.2 },
} satisfies MonitorRunResult;

const recommender = { name: 'fake' } as unknown as Recommender;

function harness(overrides: Partial<MonitoringDeps> = {}) {
  const rows: MonitoringRunRow[] = [];
  const calls: Array<{ windowHours?: number; recommender?: Recommender }> = [];
  let disposed = 0;
  let closed = 0;
  const deps: MonitoringDeps = {
    runMonitor: async (input) => {
      calls.push(input);
      return result;
    },
    loadServedModel: async () => ({ recommender, dispose: () => void disposed++ }),
    openWarehouse: async () =>
      ({
        recordMonitoringRun: async (r: MonitoringRunRow) => void rows.push(r),
        close: async () => void closed++,
      }) as unknown as Warehouse,
    logger: silentLogger,
    now: () => new Date('2026-01-02T03:04:05.000Z'),
    ...overrides,
  };
  return { deps, rows, calls, disposed: () => disposed, closed: () => closed };
}

describe('monitoring activity', () => {
  it('runs with the served model, frees it, and records the verdict in the warehouse', async () => {
    const h = harness();
    const r = await createMonitoringActivities(h.deps).monitor({ windowHours: 6 });
    expect(r).toBe(result);
    expect(h.calls).toEqual([{ windowHours: 6, recommender }]);
    expect(h.disposed()).toBe(1);
    expect(h.closed()).toBe(1);
    expect(h.rows).toEqual([
      {
        runAt: '2026-01-02T03:04:05.000Z',
        modelVersion: 'v0001',
        datasetDrift: true,
        share: 0.75,
        driftShare: 0.5,
        referenceRows: 10,
        currentRows: 20,
        driftedColumns: ['session_length'],
        onlineHr20: 0.4,
        reportPath: '/r/report.html',
        qualityDrop: null,
      },
    ]);
  });

  it('runs without the recommendation columns when the served model cannot be loaded', async () => {
    const h = harness({ loadServedModel: async () => Promise.reject(new Error('tampered')) });
    await createMonitoringActivities(h.deps).monitor({});
    expect(h.calls).toEqual([{}]);
  });

  it('frees the served model when the run fails, and records nothing', async () => {
    const h = harness({ runMonitor: async () => Promise.reject(new Error('no production model')) });
    await expect(createMonitoringActivities(h.deps).monitor({})).rejects.toThrow('no production model');
    expect(h.disposed()).toBe(1);
    expect(h.rows).toEqual([]);
  });

  it('keeps the verdict when the warehouse cannot record it (the report files are the record)', async () => {
    const h = harness({ openWarehouse: async () => Promise.reject(new Error('locked')) });
    expect(await createMonitoringActivities(h.deps).monitor({})).toBe(result);
  });
});
