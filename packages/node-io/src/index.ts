export * from './atomic.js';
export * from './hash.js';
export * from './ndjson.js';
export * from './csv.js';
export * from './process.js';
