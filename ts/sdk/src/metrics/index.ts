/** Classification metrics (pure TypeScript, browser-safe), Keras and scikit-learn names. */
export { confusionMatrix } from './confusion.js';
export {
  classificationReport,
  type ClassificationReport,
  type ClassificationReportOptions,
  type ClassMetrics,
  type AveragedMetrics,
  type DecisionRule,
} from './report.js';
export { formatClassificationReport, type FormatReportOptions } from './format.js';
export { rocCurve, rocAuc, rocAucOvr, type RocCurve } from './roc.js';
export { thresholdForRecall, type RecallThreshold } from './threshold.js';
export { classScores } from './probs.js';
export { calibrationMetrics, type CalibrationMetrics, type CalibrationMetricsOptions, type ReliabilityBin } from './calibration.js';
export {
  MetricAccumulator,
  type MetricAccumulatorOptions,
  type MetricBatch,
  type AccumulatedMetrics,
} from './accumulator.js';
export { groupOutputs, poolGroups, decideClasses, subtypeRecall, GROUP_AGGREGATIONS, type GroupAggregation, type GroupOutputsOptions, type GroupedOutputs, type PooledOutputs, type SubtypeRecall } from './groups.js';
