export * from './random.js';
export * from './catalogue.js';
export * from './sessions.js';
