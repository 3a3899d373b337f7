// The public API of @skiff/monitoring: the monitoring run, its parts that other packages and the
// benches call, and the Evidently-compatible drift computation and writers. The statistics, the
// feature columns and the snapshot internals stay inside the package (their tests import them
// from their modules).
export { runMonitor, readServingLogs, scanServingLogs, qualityVerdict } from './run-monitor.js';
export type { RunMonitorOptions, SkiffMonitorRunResult, QualityVerdict, ServingScan } from './run-monitor.js';
export { readOnlineEvents, nextEventItem, onlineQuality } from './online.js';
export type { OnlineQuality, PredictionDescriptors, SessionEvents } from './online.js';
export { MONITORED_COLUMNS } from './features.js';
export type { ServingRow, TrainSnapshotFile } from './features.js';
export { computeDrift } from './drift.js';
export type { DriftInput, DriftResult, ColumnDrift, RawValue } from './drift.js';
export { STAT_TESTS } from './stattests.js';
export type { StatTestDef } from './stattests.js';
export { readCsvFrame, parseCsvFrame } from './csv.js';
export type { CsvFrame } from './csv.js';
export { writeReport } from './report.js';
export type { WriteReportArgs, WriteReportResult } from './report.js';
export { buildEvidentlySnapshot, writeEvidentlySnapshot } from './snapshot.js';
export type { DriftData, SnapshotOptions } from './snapshot.js';
export { renderHtmlReport } from './html.js';
export type { HtmlReportOptions } from './html.js';
