export {
  ks2samp,
  ksStatistic,
  kstwoSf,
  smirnovSf,
  probOutsideSquare,
  outerProbInsideMethod,
  roundHalfEven,
} from './ks.js';
export type { Ks2SampResult } from './ks.js';
export { chi2Sf, gammaincc, lgamma, erf, erfc, normCdf } from './special.js';
export {
  ksTest,
  chiSquareTest,
  zTest,
  wassersteinDistance,
  wassersteinNormed,
  jensenShannonDistance,
  jensenShannonTest,
  psiTest,
  klDivTest,
  binnedPercents,
  sturgesEdges,
  histogramCounts,
  defaultStatTest,
  isDrifted,
  npSum,
  npStd,
  STAT_TESTS,
  nUniqueUpTo,
} from './stattests.js';
export type { Value, ColumnKind, Direction, StatTestDef } from './stattests.js';
export { computeDrift, computeColumnDrift, cleanColumn, resolveStatTest } from './drift.js';
export type { DriftInput, DriftResult, ColumnDrift, RawValue } from './drift.js';
export {
  buildEvidentlySnapshot,
  writeEvidentlySnapshot,
  valueDriftFingerprint,
  driftedColumnsCountFingerprint,
  pyFloatRepr,
} from './snapshot.js';
export type { DriftData, SnapshotOptions } from './snapshot.js';
export { renderHtmlReport, numericPlotSvg, categoricalPlotSvg } from './html.js';
export type { HtmlReportOptions } from './html.js';
export { writeReport } from './report.js';
export type { WriteReportArgs, WriteReportResult } from './report.js';
export { writeFileAtomic, ndjsonFiles, ndjsonLines } from './io.js';
export {
  MONITORED_COLUMNS,
  OPTIONAL_MONITORED_COLUMNS,
  popularityBuckets,
  referenceFrame,
  referenceSessionLengths,
  currentSessionLengths,
  currentFrame,
  hourOfDay,
  referenceTimeOf,
  referenceHours,
  samplePrefixes,
  referenceRecommendationFrame,
  categoryLookup,
  referenceCategories,
  currentCategories,
  currentSpanHours,
} from './features.js';
export type { Frame, ServingRow, TrainSnapshotFile, ItemCatalog } from './features.js';
export { runMonitor, readServingLogs, scanServingLogs, qualityVerdict, DEFAULT_QUALITY_GATE } from './run-monitor.js';
export type { ServingScan } from './run-monitor.js';
export { readCsvFrame, parseCsvFrame } from './csv.js';
export type { CsvFrame } from './csv.js';
export type { RunMonitorOptions, SkiffMonitorRunResult, QualityGate, QualityVerdict } from './run-monitor.js';
export {
  parseTimestampMs,
  readOnlineEvents,
  nextEventItem,
  onlineQuality,
  predictionDescriptors,
  createOnlineQualityAccumulator,
  createPredictionAccumulator,
} from './online.js';
export type { OnlineQuality, PredictionDescriptors, SessionEvents } from './online.js';
export {
  ensureWorkspaceProject,
  addWorkspaceSnapshot,
  defaultDashboard,
  nameUuid,
  uuidv7,
  isWorkspaceUuid,
} from './workspace.js';
export type { WorkspaceProject, WorkspaceSnapshotRef } from './workspace.js';
