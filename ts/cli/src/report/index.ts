/** Report rendering for the CLI: SVG charts, PNG conversion (sharp), the HTML report and its files. */
export { lineChart, type LineChartOptions, type LineSeries } from './line-chart.js';
export { confusionMatrixChart, type ConfusionMatrixChartOptions } from './confusion-chart.js';
export { rocChart, type RocChartOptions, type RocSeries, type RocMarker } from './roc-chart.js';
export { learningCurveCharts, type HistoryLike, type LearningCurveOptions, type LearningCurveCharts } from './curves.js';
export { svgToPng, type SvgToPngOptions } from './png.js';
export {
  renderReport,
  reportConfusionChart,
  reportRocChart,
  type ReportData,
  type ReportEvaluation,
  type ReportRoc,
  type ReportThreshold,
  type ReportImage,
  type ReportTable,
} from './html.js';
export { writeReport, REPORT_FILES, type WriteReportOptions } from './write.js';
export { escapeXml, CHART_WIDTH, CHART_HEIGHT } from './svg.js';
