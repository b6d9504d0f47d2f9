/**
 * The run report as one self-contained HTML page: charts inlined as SVG, CSS
 * in a <style> element, no scripts and no external files, so it can be
 * mailed, attached to a ticket or opened from a run directory offline.
 */
import type { CalibrationMetrics, ClassificationReport } from '@lite-cnn/sdk';
import { reliabilityChart } from './reliability-chart.js';
import { confusionMatrixChart } from './confusion-chart.js';
import { learningCurveCharts, type HistoryLike, type LearningCurveCharts } from './curves.js';
import { rocChart, type RocMarker } from './roc-chart.js';
import { escapeXml as esc } from './svg.js';

export interface ReportRoc {
  /** The ROC curve of the positive class (the SDK's `rocCurve`), on the same data as `report`. */
  fpr: readonly number[];
  tpr: readonly number[];
  /** The SDK's `rocAuc`. */
  auc: number;
}

/** Metrics at another decision threshold, e.g. the one stored in the model file. */
export interface ReportThreshold {
  /** What this threshold is, e.g. "stored threshold (recall >= 0.90 on validation)". */
  label: string;
  /** classificationReport with `threshold` set; its decision rule names the threshold. */
  report: ClassificationReport;
}

export interface ReportEvaluation {
  /** The data evaluated, e.g. "test split, 70 images". */
  data?: string;
  /** At the default decision: probability >= 0.5 for binary problems, argmax otherwise. */
  report: ClassificationReport;
  /** Binary problems: the ROC curve of the positive class of `report`'s decision. */
  roc?: ReportRoc;
  /** Binary problems: the same data at other thresholds, shown next to the default one. */
  thresholds?: readonly ReportThreshold[];
  /** How well the probabilities match the frequencies; `uncalibrated` and `stored` when the model stores a calibration. */
  calibration?: { metrics: CalibrationMetrics; uncalibrated?: CalibrationMetrics; stored?: string };
}

/** A further figure (e.g. Grad-CAM examples), embedded: SVG inline (trusted: written by our own code), PNG as a data: URI. */
export interface ReportImage {
  title: string;
  caption?: string;
  svg?: string;
  png?: Uint8Array;
}

export interface ReportData {
  title: string;
  /** The run's configuration and facts (preset, epochs, seed, dataset, time ...), shown in order. */
  runInfo: Readonly<Record<string, string>>;
  /** Training history; without it (an evaluation-only report) the learning-curve section says so. */
  history?: HistoryLike;
  /** Optimizer steps per epoch, to place mid-epoch evaluations (see LearningCurveOptions). */
  stepsPerEpoch?: number;
  evaluation: ReportEvaluation;
  /** Further tables (e.g. cross-validation folds), each its own section after the summary. */
  tables?: readonly ReportTable[];
  images?: readonly ReportImage[];
}

/** A table of text cells (numbers formatted by the caller). */
export interface ReportTable {
  /** Section id (letters, digits, '-'). */
  id: string;
  title: string;
  note?: string;
  columns: readonly string[];
  rows: readonly (readonly string[])[];
}

const f4 = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : String(v));
/** Thresholds chosen from the data are arbitrary floats (0.338245093822479); 4 significant digits identify them. */
const fth = (t: number): string => String(Number(t.toPrecision(4)));

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; color: #222; background: #fafafa; margin: 0; }
main { max-width: 1340px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin: 20px 0 8px; }
nav { font-size: 0.9rem; color: #555; margin-bottom: 8px; }
nav a { color: #0b5cad; text-decoration: none; margin-right: 14px; }
table { border-collapse: collapse; font-size: 0.92rem; margin: 6px 0; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e6e6e6; text-align: right; }
th { background: #f3f5f8; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
table.kv td:first-child { color: #555; white-space: nowrap; }
table.kv td { text-align: left; }
tr.avg td { background: #fafbfc; }
tr.sep td { border-top: 2px solid #ccc; }
td.num { font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figure svg, figure img { max-width: 100%; height: auto; border: 1px solid #eee; display: block; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 4px; max-width: 640px; }
.note { font-size: 0.88rem; color: #555; }
.big { font-size: 1.1rem; }
`;

function kvTable(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function figure(svg: string, caption?: string): string {
  return `<figure>${svg}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ''}</figure>`;
}

function decisionText(r: ClassificationReport): string {
  if (r.decision.rule === 'argmax') return 'Predicted class: the most probable class (argmax).';
  const name = r.perClass[r.decision.positiveClass]?.name ?? String(r.decision.positiveClass);
  return `Predicted '${name}' when its probability is ≥ ${fth(r.decision.threshold)}, the other class otherwise.`;
}

function trainingFacts(h: HistoryLike): [string, string][] {
  const rows: [string, string][] = [['epochs trained', String(h.epoch.length)]];
  const last = (k: string): number | undefined => h.history[k]?.at(-1);
  const add = (label: string, v: number | undefined): void => {
    if (v !== undefined) rows.push([label, f4(v)]);
  };
  add('final train loss', last('loss'));
  add('final train accuracy', last('accuracy'));
  add('final validation loss', last('val_loss'));
  add('final validation accuracy', last('val_accuracy'));
  const va = h.history.val_accuracy ?? [];
  let best = -1;
  for (let i = 0; i < va.length; i++) if (Number.isFinite(va[i]!) && (best < 0 || va[i]! > va[best]!)) best = i;
  if (best >= 0) rows.push(['best validation accuracy', `${f4(va[best]!)} (epoch ${(h.epoch[best] ?? best) + 1})`]);
  return rows;
}

function metricsTable(r: ClassificationReport): string {
  const row = (name: string, m: { precision: number; recall: number; f1: number; support: number }, cls = ''): string =>
    `<tr${cls ? ` class="${cls}"` : ''}><td>${esc(name)}</td><td class="num">${f4(m.precision)}</td><td class="num">${f4(m.recall)}</td>` +
    `<td class="num">${f4(m.f1)}</td><td class="num">${m.support}</td></tr>`;
  const n = r.macroAvg.support;
  return [
    '<table class="metrics"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>',
    ...r.perClass.map((m) => row(m.name, m)),
    `<tr class="avg sep"><td>accuracy</td><td></td><td></td><td class="num">${f4(r.accuracy)}</td><td class="num">${n}</td></tr>`,
    row('macro avg', r.macroAvg, 'avg'),
    row('weighted avg', r.weightedAvg, 'avg'),
    '</tbody></table>',
  ].join('\n');
}

interface BinaryCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Counts for the positive class of a threshold decision; undefined for argmax (multi-class) reports. */
function binaryCounts(r: ClassificationReport): BinaryCounts | undefined {
  if (r.decision.rule !== 'threshold') return undefined;
  const p = r.decision.positiveClass;
  const q = 1 - p;
  const m = r.confusionMatrix;
  return { tp: m[p]?.[p] ?? 0, fn: m[p]?.[q] ?? 0, fp: m[q]?.[p] ?? 0, tn: m[q]?.[q] ?? 0 };
}

function operatingPoint(label: string, r: ClassificationReport): RocMarker | undefined {
  const c = binaryCounts(r);
  if (!c || r.decision.rule !== 'threshold') return undefined;
  const pos = c.tp + c.fn;
  const neg = c.fp + c.tn;
  if (pos === 0 || neg === 0) return undefined;
  return { name: `${label} (threshold ${fth(r.decision.threshold)})`, fpr: c.fp / neg, tpr: c.tp / pos };
}

function thresholdTable(rows: readonly { label: string; report: ClassificationReport }[]): string {
  const first = rows[0]!.report;
  const pc = first.decision.rule === 'threshold' ? first.decision.positiveClass : 1;
  const pos = first.perClass[pc]?.name ?? String(pc);
  const head =
    `<tr><th>decision</th><th>threshold</th><th>accuracy</th><th>${esc(pos)} precision</th><th>${esc(pos)} recall</th>` +
    `<th>${esc(pos)} F1</th><th>macro F1</th><th>false positives</th><th>false negatives</th></tr>`;
  const body = rows.map(({ label, report: r }) => {
    const c = binaryCounts(r);
    const m = r.perClass[pc];
    const t = r.decision.rule === 'threshold' ? fth(r.decision.threshold) : 'argmax';
    return (
      `<tr><td>${esc(label)}</td><td class="num">${esc(t)}</td><td class="num">${f4(r.accuracy)}</td>` +
      `<td class="num">${m ? f4(m.precision) : ''}</td><td class="num">${m ? f4(m.recall) : ''}</td><td class="num">${m ? f4(m.f1) : ''}</td>` +
      `<td class="num">${f4(r.macroAvg.f1)}</td><td class="num">${c ? c.fp : ''}</td><td class="num">${c ? c.fn : ''}</td></tr>`
    );
  });
  return `<table class="thresholds"><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
}

function defaultLabel(r: ClassificationReport): string {
  return r.decision.rule === 'threshold' ? 'default' : 'argmax';
}

/** The ROC chart of the report, with the operating points of the default and extra thresholds. */
export function reportRocChart(evaluation: ReportEvaluation): string | undefined {
  const roc = evaluation.roc;
  if (!roc) return undefined;
  const r = evaluation.report;
  const pc = r.decision.rule === 'threshold' ? r.decision.positiveClass : 1;
  const posName = r.perClass[pc]?.name ?? String(pc);
  const markers = [
    operatingPoint(defaultLabel(r), r),
    ...(evaluation.thresholds ?? []).map((t) => operatingPoint(t.label, t.report)),
  ].filter((m): m is RocMarker => m !== undefined);
  return rocChart([{ name: evaluation.data ?? 'model', fpr: roc.fpr, tpr: roc.tpr, auc: roc.auc }], {
    title: `ROC curve (positive class: ${posName})`,
    markers,
  });
}

/** The confusion-matrix chart of one report, coloured by share of the true class. */
export function reportConfusionChart(r: ClassificationReport, title?: string): string {
  return confusionMatrixChart(
    r.confusionMatrix,
    r.perClass.map((m) => m.name),
    { normalize: true, ...(title !== undefined ? { title } : {}) },
  );
}

/**
 * The report page. Sections (each an `<section id=...>`): summary, curves,
 * metrics, confusion, roc (binary with a ROC curve), thresholds (binary
 * threshold decisions), images (when given). All text is escaped.
 */
/** The charts a report shows, rendered once for both report.html and the PNG files. */
export interface ReportCharts {
  curves: LearningCurveCharts;
  roc: string | undefined;
}

export function reportCharts(data: ReportData): ReportCharts {
  return {
    curves: data.history ? learningCurveCharts(data.history, data.stepsPerEpoch !== undefined ? { stepsPerEpoch: data.stepsPerEpoch } : {}) : {},
    roc: reportRocChart(data.evaluation),
  };
}

export function renderReport(data: ReportData, rendered: ReportCharts = reportCharts(data)): string {
  const ev = data.evaluation;
  const r = ev.report;
  const out: string[] = [];
  const nav: [string, string][] = [
    ['summary', 'Run summary'],
    ['curves', 'Learning curves'],
    ['metrics', 'Per-class metrics'],
    ['confusion', 'Confusion matrix'],
  ];
  const { curves, roc: rocSvg } = rendered;
  if (ev.roc) nav.push(['roc', 'ROC']);
  if (ev.calibration) nav.push(['calibration', 'Calibration']);
  const thresholdRows = [
    ...(r.decision.rule === 'threshold' ? [{ label: defaultLabel(r), report: r }] : []),
    ...(ev.thresholds ?? []),
  ];
  if (thresholdRows.length > 0) nav.push(['thresholds', 'Thresholds']);
  for (const t of data.tables ?? []) nav.push([t.id, t.title]);
  if (data.images?.length) nav.push(['images', 'Figures']);

  out.push(`<h1>${esc(data.title)}</h1>`);
  out.push(`<nav>${nav.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join('')}</nav>`);

  out.push('<section id="summary"><h2>Run summary</h2>');
  out.push(kvTable(Object.entries(data.runInfo)));
  if (data.history && data.history.epoch.length > 0) {
    out.push('<h3>Training</h3>', kvTable(trainingFacts(data.history)));
  }
  const facts: [string, string][] = [];
  if (ev.data) facts.push(['data', ev.data]);
  facts.push(['accuracy', f4(r.accuracy)], ['macro F1', f4(r.macroAvg.f1)]);
  if (ev.roc) facts.push(['ROC AUC', f4(ev.roc.auc)]);
  out.push('<h3>Evaluation</h3>', kvTable(facts), '</section>');

  for (const t of data.tables ?? []) {
    out.push(`<section id="${esc(t.id)}"><h2>${esc(t.title)}</h2>`);
    if (t.note) out.push(`<p class="note">${esc(t.note)}</p>`);
    out.push(
      `<table class="data"><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>` +
        t.rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('') +
        '</tbody></table>',
    );
    out.push('</section>');
  }

  out.push('<section id="curves"><h2>Learning curves</h2>');
  const charts = [curves.loss, curves.accuracy, curves.lr].filter((s): s is string => s !== undefined);
  if (charts.length > 0) {
    out.push(`<div class="charts">${charts.map((s) => figure(s)).join('')}</div>`);
    if (data.history?.steps?.length && data.stepsPerEpoch === undefined) {
      out.push('<p class="note">Mid-epoch evaluations were recorded but are not drawn: the steps per epoch were not given.</p>');
    }
  } else {
    out.push('<p class="note">No training history was recorded for this report.</p>');
  }
  out.push('</section>');

  out.push('<section id="metrics"><h2>Per-class metrics</h2>');
  out.push(`<p class="note">${esc(decisionText(r))}${ev.data ? ` Data: ${esc(ev.data)}.` : ''}</p>`);
  out.push(metricsTable(r));
  if (r.zeroDivision.length > 0) {
    out.push(`<ul class="note">${r.zeroDivision.map((z) => `<li>${esc(z)}</li>`).join('')}</ul>`);
  }
  out.push('</section>');

  out.push('<section id="confusion"><h2>Confusion matrix</h2><div class="charts">');
  out.push(
    figure(
      // With several thresholds on the page, each matrix names its own.
      reportConfusionChart(r, ev.thresholds?.length && r.decision.rule === 'threshold' ? `Confusion matrix (threshold ${fth(r.decision.threshold)})` : undefined),
      'Rows: true class; columns: predicted class. Cells show the count and the share of the true class (the diagonal is each class’s recall).',
    ),
  );
  for (const t of ev.thresholds ?? []) {
    const th = t.report.decision.rule === 'threshold' ? ` (threshold ${fth(t.report.decision.threshold)})` : '';
    out.push(figure(reportConfusionChart(t.report, `Confusion matrix${th}`), t.label));
  }
  out.push('</div></section>');

  if (ev.roc && rocSvg) {
    out.push('<section id="roc"><h2>ROC curve</h2>');
    out.push(`<p class="big">AUC = <strong>${f4(ev.roc.auc)}</strong></p>`);
    out.push(figure(rocSvg, 'Dots: the operating points of the decision thresholds below.'));
    out.push('</section>');
  }

  if (ev.calibration) {
    const c = ev.calibration;
    const figures = (m: CalibrationMetrics) => `ECE ${(m.ece * 100).toFixed(1)}%, MCE ${(m.mce * 100).toFixed(1)}%, Brier ${f4(m.brier)}, NLL ${f4(m.nll)}`;
    out.push('<section id="calibration"><h2>Calibration</h2>');
    out.push(`<p class="note">${esc(`${c.stored ? `Probabilities calibrated by the model's stored ${c.stored}: ` : ''}${figures(c.metrics)}${c.uncalibrated ? `; the network's own outputs: ${figures(c.uncalibrated)}` : ''}.`)}</p>`);
    out.push(figure(reliabilityChart(c.metrics, c.uncalibrated), 'Each dot: the images whose predicted class has a probability in one bin; the share of them predicted right against their mean probability. Empty bins are not drawn.'));
    out.push('</section>');
  }

  if (thresholdRows.length > 0) {
    out.push('<section id="thresholds"><h2>Metrics at decision thresholds</h2>');
    out.push(thresholdTable(thresholdRows));
    out.push('</section>');
  }

  if (data.images?.length) {
    out.push('<section id="images"><h2>Figures</h2><div class="charts">');
    for (const img of data.images) {
      const body = img.svg ?? (img.png ? `<img alt="${esc(img.title)}" src="data:image/png;base64,${Buffer.from(img.png).toString('base64')}">` : '');
      out.push(`<figure><h3>${esc(img.title)}</h3>${body}${img.caption ? `<figcaption>${esc(img.caption)}</figcaption>` : ''}</figure>`);
    }
    out.push('</div></section>');
  }

  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="lite-cnn">',
    `<title>${esc(data.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    ...out,
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}
