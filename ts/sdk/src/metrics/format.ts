/** A classification report as text, laid out like scikit-learn's. */
import { ConfigError } from '../errors.js';
import type { ClassificationReport } from './report.js';

export interface FormatReportOptions {
  /** Digits after the decimal point. Default 2 (as scikit-learn). */
  digits?: number;
}

/**
 * The report as a table: one row per class, then accuracy, macro avg and
 * weighted avg, then the notes of `zeroDivision` if any.
 */
export function formatClassificationReport(report: ClassificationReport, options?: FormatReportOptions): string {
  const digits = options?.digits ?? 2;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw new ConfigError(`formatClassificationReport: expected digits an integer in [0, 10], got ${String(digits)}`);
  }
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const labels = [...report.perClass.map((m) => m.name), 'accuracy', 'macro avg', 'weighted avg'];
  const nameWidth = Math.max(...labels.map((s) => s.length));
  // scikit-learn's layout: the name right-aligned, then columns of 9 after a space.
  const cell = (s: string): string => ` ${s.padStart(9)}`;
  const num = (x: number): string => cell(x.toFixed(digits));
  const line = (name: string, cells: string[]): string => `${name.padStart(nameWidth)} ${cells.join('')}`;
  const metrics = (m: { precision: number; recall: number; f1: number; support: number }): string[] => [
    num(m.precision),
    num(m.recall),
    num(m.f1),
    cell(String(m.support)),
  ];
  const lines = [line('', headers.map(cell)), ''];
  for (const m of report.perClass) lines.push(line(m.name, metrics(m)));
  lines.push('');
  lines.push(line('accuracy', [cell(''), cell(''), num(report.accuracy), cell(String(report.macroAvg.support))]));
  lines.push(line('macro avg', metrics(report.macroAvg)));
  lines.push(line('weighted avg', metrics(report.weightedAvg)));
  if (report.decision.rule === 'threshold') {
    const { threshold, positiveClass } = report.decision;
    const name = report.perClass[positiveClass]?.name ?? String(positiveClass);
    lines.push('', `decision: '${name}' when its probability >= ${threshold}`);
  }
  if (report.zeroDivision.length > 0) lines.push('', ...report.zeroDivision.map((note) => `note: ${note}`));
  return lines.join('\n');
}
