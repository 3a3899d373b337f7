export * from './errors.js';
export * from './logger.js';
export * from './schemas.js';
export * from './ports.js';
export * from './random.js';
export * from './evaluation.js';
export * from './registry-rules.js';
