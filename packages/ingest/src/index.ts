export * from './create-duckdb-warehouse.js';
export * from './readers.js';
export { MODELS, MIN_SESSION_LENGTH, MAX_SESSION_LENGTH } from './models/index.js';
