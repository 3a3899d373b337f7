export * from './create-duckdb-warehouse.js';
export {
  computeSnapshotId,
  verifySnapshotDir,
  type SnapshotSplitFile,
  type SnapshotVerification,
} from './snapshot-id.js';
export { scanFile } from './file-scan.js';
export { expandInputs } from './input-discovery.js';
export * from './duckdb-reader.js';
export * from './readers.js';
export { MAX_LINE_BYTES, QUARANTINE_CODES, validateRawObject, type QuarantineCode } from './contract.js';
export { readLines, type RawLine } from './lines.js';
export {
  CHECKS_DIR,
  DEFAULT_VARS,
  MODELS,
  MODELS_DIR,
  loadChecks,
  loadModels,
  renderSql,
  topoSort,
  type TransformModel,
} from './sql-models.js';
export { queryWarehouseReadOnly, snapshotWarehouse, type ReadOnlyQueryResult } from './read-only-query.js';
