/**
 * Evaluates a model on labelled data with the SDK's metrics: loss and
 * accuracy, the per-class report with its confusion matrix, ROC AUC, and the
 * mean inference time per image. Binary models are reported at the default
 * decision (probability >= 0.5) and, when the model file stores a decision
 * threshold or one is given, at that threshold too.
 */
import { calibrationMetrics, classificationReport, classScores, predictWithTta, rocAuc, rocAucOvr, rocCurve, type CalibrationConfig, type CalibrationMetrics, type ClassificationReport, type Dataset, type Model, type TtaMode } from '@lite-cnn/sdk';
import { describeCalibration } from './calibration.js';

/** A decision threshold on the positive class and where it came from. */
export interface OperatingPoint {
  threshold: number;
  positiveClass: number;
  /** 'stored': the model file's threshold (chosen on validation data); 'option': --threshold. */
  source: 'stored' | 'option';
  /** The report at this threshold. */
  report: ClassificationReport;
}

export interface Evaluation {
  samples: number;
  loss: number | null;
  /** Accuracy of the applied decision (`report`). */
  accuracy: number;
  /** The applied decision: the operating point when there is one, else the default. */
  report: ClassificationReport;
  /** At the default decision: probability >= 0.5 (binary), argmax (multi-class). */
  atDefault: ClassificationReport;
  /** Binary models with a stored or given threshold. */
  operating: OperatingPoint | null;
  /** Binary: AUC of the positive class; multi-class: one-vs-rest macro AUC; null when undefined (a class missing). */
  auc: number | null;
  /** Binary problems: the ROC curve of the positive class. */
  roc: { fpr: number[]; tpr: number[]; auc: number } | null;
  msPerImage: number;
  /** How well the (calibrated) probabilities match the observed frequencies; null when the outputs are not probabilities. */
  calibration: CalibrationMetrics | null;
  /** With a stored calibration: the same of the network's own outputs, before it (else null). */
  uncalibrated: CalibrationMetrics | null;
  /** The model's (calibrated) outputs `[n, k]` and the labels, for pooling (cross-validation). */
  probs: Float32Array;
  labels: Uint32Array;
}

/** The probabilities of `positiveClass` from a model's outputs (a one-unit sigmoid outputs class 1's). */
export function positiveScores(probs: Float32Array, outputs: number, positiveClass: number): Float32Array {
  // One column is already the scores (classScores wants at least two classes).
  return outputs === 1 ? Float32Array.from(probs) : classScores(probs, outputs, positiveClass);
}

/** Reports of binary outputs need one column per class; a one-unit sigmoid has one. */
function reportOf(labels: Uint32Array, probs: Float32Array, outputs: number, classes: number, opts: { classNames: readonly string[] | null; threshold?: number; positiveClass?: number }): ClassificationReport {
  const names = opts.classNames && opts.classNames.length === classes ? { classNames: opts.classNames } : {};
  if (classes !== 2) return classificationReport(labels, probs, { classes, ...names });
  const threshold = opts.threshold ?? 0.5;
  if (outputs === 1) {
    // One sigmoid unit: its output is class 1's probability; the report's positive class must be 1.
    const scores = positiveScores(probs, 1, 1);
    const rows = new Float32Array(scores.length * 2);
    scores.forEach((p, i) => {
      rows[2 * i + 1] = p;
    });
    return classificationReport(labels, rows, { classes, ...names, threshold, positiveClass: 1 });
  }
  return classificationReport(labels, probs, { classes, ...names, threshold, positiveClass: opts.positiveClass ?? 1 });
}

/** `tta`: probabilities averaged over flipped/rotated views (the loss is of the plain inputs). */
export async function evaluateModel(model: Model, data: Dataset, opts: { batchSize: number; classNames: readonly string[] | null; threshold?: number; tta?: TtaMode }): Promise<Evaluation> {
  const labels = data.labels();
  if (!labels) throw new Error('evaluate: the data has no labels');
  // Speed is steady-state inference per image. The loss pass runs first: it
  // plans the model for this batch size and touches every buffer once, so the
  // timed pass does not spread one-time costs (arena allocation, first-touch
  // page faults: ~1 ms per image on a 72-image test set) over a small set.
  await model.ensureCompiled(opts.batchSize);
  const loss = model.lossConfig ? ((await model.evaluate(data, { batchSize: opts.batchSize })).loss ?? null) : null;
  const t0 = performance.now();
  const raw = await predictWithTta(model, data, { batchSize: opts.batchSize, tta: opts.tta ?? 'none', calibrated: false });
  const ms = (performance.now() - t0) / data.size;
  // One forward pass gives both: the stored calibration (if any) applied to the network's own outputs, as predict does.
  const probs = model.calibrateOutputs(raw);
  const stored = model.metadata.threshold;
  const threshold = opts.threshold ?? stored?.value;
  return {
    ...evaluateOutputs(Uint32Array.from(labels), probs, {
      outputs: model.outputShape[2],
      classes: model.classes,
      classNames: opts.classNames,
      positiveClass: stored?.positiveClass ?? 1,
      ...(threshold !== undefined ? { threshold, source: opts.threshold !== undefined ? ('option' as const) : ('stored' as const) } : {}),
    }),
    loss,
    msPerImage: ms,
    uncalibrated: probs !== raw ? probabilityCalibration(Uint32Array.from(labels), raw, model.outputShape[2]) : null,
  };
}

/** calibrationMetrics of outputs that are probabilities (a softmax or sigmoid classifier's); null for other outputs. */
function probabilityCalibration(labels: Uint32Array, probs: Float32Array, outputs: number): CalibrationMetrics | null {
  return probs.every((p) => p >= 0 && p <= 1) ? calibrationMetrics(labels, probs, { outputs }) : null;
}

/** Metrics of model outputs `probs` `[n, outputs]` against `labels` (also for pooled out-of-fold predictions). */
export function evaluateOutputs(
  labels: Uint32Array,
  probs: Float32Array,
  opts: { outputs: number; classes: number; classNames: readonly string[] | null; positiveClass: number; threshold?: number; source?: 'stored' | 'option' },
): Omit<Evaluation, 'loss' | 'msPerImage' | 'uncalibrated'> & { loss: null; msPerImage: number; uncalibrated: null } {
  const { outputs: k, classes, positiveClass: pos } = opts;
  const atDefault = reportOf(labels, probs, k, classes, { classNames: opts.classNames, positiveClass: pos });
  let operating: OperatingPoint | null = null;
  if (classes === 2 && opts.threshold !== undefined) {
    operating = {
      threshold: opts.threshold,
      positiveClass: pos,
      source: opts.source ?? 'stored',
      report: reportOf(labels, probs, k, classes, { classNames: opts.classNames, threshold: opts.threshold, positiveClass: pos }),
    };
  }
  const report = operating?.report ?? atDefault;
  let auc: number | null = null;
  let roc: Evaluation['roc'] = null;
  try {
    if (classes === 2) {
      const scores = positiveScores(probs, k, pos);
      const binary = Uint32Array.from(labels, (l) => (l === pos ? 1 : 0));
      const curve = rocCurve(binary, scores);
      auc = rocAuc(binary, scores);
      roc = { fpr: curve.fpr, tpr: curve.tpr, auc };
    } else auc = rocAucOvr(labels, probs, classes);
  } catch {
    auc = null; // a class absent from the data: AUC is undefined, the rest of the report still holds
  }
  const calibration = probabilityCalibration(labels, probs, k);
  return { samples: labels.length, loss: null, accuracy: report.accuracy, report, atDefault, operating, auc, roc, msPerImage: Number.NaN, calibration, uncalibrated: null, probs, labels };
}

/** A report's numbers for one class (precision, recall, F1), by index. */
export function classMetrics(r: ClassificationReport, index: number): { name: string; precision: number; recall: number; f1: number } {
  const m = r.perClass[index]!;
  return { name: m.name, precision: m.precision, recall: m.recall, f1: m.f1 };
}

/** What --json and summary.json print of a report. */
export function reportJson(r: ClassificationReport) {
  return { decision: r.decision, accuracy: r.accuracy, perClass: r.perClass, macroAvg: r.macroAvg, weightedAvg: r.weightedAvg, confusionMatrix: r.confusionMatrix };
}

/** The report module's input: the default decision plus the operating point. */
export function reportEvaluation(ev: Evaluation, data: string, stored: CalibrationConfig | null = null) {
  const label = ev.operating
    ? ev.operating.source === 'stored'
      ? 'stored threshold (chosen at training)'
      : 'threshold given with --threshold'
    : '';
  return {
    data,
    report: ev.atDefault,
    ...(ev.roc ? { roc: ev.roc } : {}),
    ...(ev.operating ? { thresholds: [{ label, report: ev.operating.report }] } : {}),
    ...(ev.calibration ? { calibration: { metrics: ev.calibration, ...(ev.uncalibrated ? { uncalibrated: ev.uncalibrated } : {}), ...(stored ? { stored: describeCalibration(stored) } : {}) } } : {}),
  };
}
