import { createRequire } from 'node:module';
import path from 'node:path';
import { realpath } from 'node:fs/promises';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { ModelHolder } from '../model-holder.js';
import {
  itemMetadata,
  monitoringView,
  onlineView,
  registryView,
  runsView,
  selectionView,
  type DashboardSources,
} from './data.js';
import { DASHBOARD_HTML } from './page.js';

/**
 * One value per `ttlMs`: concurrent and repeated calls share the same read, so a client polling the
 * dashboard cannot make the server re-read every log per request.
 */
export function cachedRead<T>(read: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let value: { at: number; p: Promise<T> } | null = null;
  return () => {
    if (value && now() - value.at < ttlMs) return value.p;
    const p = read();
    value = { at: now(), p };
    // A failed read is not kept: the next call tries again.
    p.catch(() => {
      if (value?.p === p) value = null;
    });
    return p;
  };
}

/** Refuses a path under `root` that leaves it through a symlink (express.static follows them). */
function noSymlinkEscape(root: string) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let inside = false;
    try {
      const base = await realpath(root);
      const target = await realpath(path.join(root, decodeURIComponent(req.path)));
      inside = target === base || target.startsWith(base + path.sep);
    } catch {
      inside = false;
    }
    if (inside) next();
    else res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such report' } });
  };
}

export interface DashboardRouterOptions {
  /** How long a read of the registry, runs, reports or logs is reused (ms). */
  cacheMs?: number;
}

/** The dashboard: one page plus the JSON endpoints it reads. Mounted at /dashboard. */
export function createDashboardRouter(
  src: DashboardSources,
  models: ModelHolder,
  options: DashboardRouterOptions = {},
): Router {
  const { cacheMs = 10_000 } = options;
  const registry = cachedRead(() => registryView(src), cacheMs);
  const runs = cachedRead(() => runsView(src), cacheMs);
  const selection = cachedRead(() => selectionView(src), cacheMs);
  const monitoring = cachedRead(() => monitoringView(src), cacheMs);
  const online = cachedRead(() => onlineView(src), cacheMs);
  const router = express.Router();
  const chartJs = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  router.get('/', (_req, res) => {
    res.type('html').send(DASHBOARD_HTML);
  });
  router.get('/assets/chart.umd.js', (_req, res) => res.sendFile(chartJs));
  // Report folders are named by time; express.static refuses path traversal.
  // A report is our own HTML with inline scripts: it runs sandboxed (an opaque origin, no access to this one).
  router.use(
    '/reports',
    (_req, res, next) => {
      res.setHeader(
        'Content-Security-Policy',
        "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
      );
      next();
    },
    noSymlinkEscape(src.reportsDir),
    express.static(src.reportsDir, { index: false, dotfiles: 'deny' }),
  );
  router.get('/api/info', (_req, res) => {
    const m = models.current();
    res.json({
      temporalUiUrl: src.temporalUiUrl ?? null,
      model: m ? { name: m.manifest.name, version: m.manifest.version } : null,
      sampleSession: m ? m.recommender.vocabulary.slice(0, 3) : null,
    });
  });
  router.get('/api/registry', async (_req, res, next) => {
    try {
      res.json(await registry());
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/selection', async (_req, res, next) => {
    try {
      res.json(await selection());
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/runs', async (_req, res, next) => {
    try {
      res.json(await runs());
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/monitoring', async (_req, res, next) => {
    try {
      res.json(await monitoring());
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/online', async (_req, res, next) => {
    try {
      res.json(await online());
    } catch (e) {
      next(e);
    }
  });
  router.get('/api/items', async (req, res, next) => {
    try {
      const ids = String(req.query['ids'] ?? '')
        .split(',')
        .filter(Boolean)
        .slice(0, 200);
      const meta = await itemMetadata(src);
      res.json(Object.fromEntries(ids.map((id) => [id, meta.get(id) ?? null])));
    } catch (e) {
      next(e);
    }
  });
  return router;
}
