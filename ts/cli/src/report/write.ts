/** Writes a run's report: report.html and the charts as PNG, each file atomically. */
import { join } from 'node:path';
import { writeFileAtomic } from '@lite-cnn/sdk';
import { renderReport, reportCharts, reportConfusionChart, type ReportData } from './html.js';
import { svgToPng } from './png.js';

export interface WriteReportOptions {
  /** PNG pixels per chart unit (svgToPng's `scale`). Default 1: 640x420 images. */
  pngScale?: number;
}

/** File names writeReport uses, for callers that list or link the outputs. */
export const REPORT_FILES = {
  html: 'report.html',
  loss: 'loss.png',
  accuracy: 'accuracy.png',
  confusionMatrix: 'confusion_matrix.png',
  roc: 'roc.png',
} as const;

/**
 * Writes into `dir` (created if missing): `report.html`, and as PNG
 * `loss.png` and `accuracy.png` (when the history has them),
 * `confusion_matrix.png`, and `roc.png` (when `evaluation.roc` is given).
 * Everything is rendered before the first file is written, so a rendering
 * error leaves the directory as it was; each file then replaces its old
 * version atomically, report.html last. Returns the paths written.
 */
export async function writeReport(dir: string, data: ReportData, options: WriteReportOptions = {}): Promise<string[]> {
  const png = (svg: string): Promise<Buffer> =>
    svgToPng(svg, options.pngScale !== undefined ? { scale: options.pngScale } : {});
  const charts = reportCharts(data);
  const { curves, roc: rocSvg } = charts;
  const svgs: [string, string][] = [];
  if (curves.loss !== undefined) svgs.push([REPORT_FILES.loss, curves.loss]);
  if (curves.accuracy !== undefined) svgs.push([REPORT_FILES.accuracy, curves.accuracy]);
  svgs.push([REPORT_FILES.confusionMatrix, reportConfusionChart(data.evaluation.report)]);
  if (rocSvg !== undefined) svgs.push([REPORT_FILES.roc, rocSvg]);

  // Sequential: librsvg renders on the libuv pool anyway, and 2 cores are shared with training.
  const files: [string, Uint8Array | string][] = [];
  for (const [name, svg] of svgs) files.push([name, await png(svg)]);
  files.push([REPORT_FILES.html, renderReport(data, charts)]);

  const written: string[] = [];
  for (const [name, bytes] of files) {
    const path = join(dir, name);
    await writeFileAtomic(path, bytes, { makeDirs: true });
    written.push(path);
  }
  return written;
}
