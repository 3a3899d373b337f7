export * from './create-duckdb-warehouse.js';
export {
  computeSnapshotId,
  verifySnapshotDir,
  type ItemCatalog,
  type SnapshotSplitFile,
  type SnapshotVerification,
} from './snapshot-id.js';
export { scanFile, sha256File } from './file-scan.js';
export { expandInputs } from './input-discovery.js';
export * from './duckdb-reader.js';
export * from './readers.js';
export { MAX_LINE_BYTES, QUARANTINE_CODES, validateRawObject, type QuarantineCode } from './contract.js';
export { readLines, type RawLine } from './lines.js';
export {
  CHECKS_DIR,
  DEFAULT_VARS,
  MAX_SESSION_LENGTH,
  MIN_SESSION_LENGTH,
  MODELS,
  MODELS_DIR,
  SESSION_GAP_MINUTES,
  loadChecks,
  loadModels,
  renderSql,
  topoSort,
  type TransformModel,
} from './sql-models.js';
export { queryWarehouseReadOnly, snapshotWarehouse, type ReadOnlyQueryResult } from './read-only-query.js';
