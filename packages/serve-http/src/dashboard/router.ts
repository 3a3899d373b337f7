import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';
import type { ModelHolder } from '../model-holder.js';
import { itemMetadata, monitoringView, onlineView, registryView, runsView, type DashboardSources } from './data.js';
import { DASHBOARD_HTML } from './page.js';

/** The dashboard (issue #10): one page plus the JSON endpoints it reads. Mounted at /dashboard. */
export function createDashboardRouter(src: DashboardSources, models: ModelHolder): Router {
  const router = express.Router();
  const chartJs = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  router.get('/', (_req, res) => {
    res.type('html').send(DASHBOARD_HTML);
  });
  router.get('/assets/chart.umd.js', (_req, res) => res.sendFile(chartJs));
  // Report folders are named by time; express.static refuses path traversal.
  router.use('/reports', express.static(src.reportsDir, { index: false, dotfiles: 'deny' }));
  router.get('/api/info', (_req, res) => {
    const m = models.current();
    res.json({ temporalUiUrl: src.temporalUiUrl ?? null, model: m ? { name: m.manifest.name, version: m.manifest.version } : null, sampleSession: m ? m.recommender.vocabulary.slice(0, 3) : null });
  });
  router.get('/api/registry', async (_req, res, next) => {
    try {
      res.json(await registryView(src));
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/runs', async (_req, res, next) => {
    try {
      res.json(await runsView(src));
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/monitoring', async (_req, res, next) => {
    try {
      res.json(await monitoringView(src));
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/online', async (_req, res, next) => {
    try {
      res.json(await onlineView(src));
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/items', async (req, res, next) => {
    try {
      const ids = String(req.query['ids'] ?? '').split(',').filter(Boolean).slice(0, 200);
      const meta = await itemMetadata(src);
      res.json(Object.fromEntries(ids.map((id) => [id, meta.get(id) ?? null])));
    } catch (e) {
      next(e);
    }
  });
  return router;
}
