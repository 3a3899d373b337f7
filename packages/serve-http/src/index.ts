export * from './app.js';
export * from './model-holder.js';
export * from './serving-log.js';
export * from './server.js';
export * from './dashboard/router.js';
export type { DashboardSources } from './dashboard/data.js';
