export { ks2samp, ksStatistic, kstwoSf, smirnovSf, probOutsideSquare, outerProbInsideMethod, roundHalfEven } from './ks.js';
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
export type { WriteReportArgs } from './report.js';
export { writeFileAtomic } from './io.js';
export { MONITORED_COLUMNS, popularityBuckets, referenceFrame, currentFrame } from './features.js';
export type { Frame, ServingRow } from './features.js';
export { runMonitor, readServingLogs } from './run-monitor.js';
export type { RunMonitorOptions } from './run-monitor.js';
