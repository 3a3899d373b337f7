export * from './random.js';
export * from './catalogue.js';
export * from './sessions.js';
export * from './write.js';
export * from './stats.js';
