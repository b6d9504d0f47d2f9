/**
 * Per-class precision, recall, F1 and support with accuracy and averages, as
 * scikit-learn's `classification_report(labels=range(classes), zero_division='warn')`.
 */
import { ConfigError } from '../errors.js';
import { classOutcome, countPairs } from './confusion.js';
import { argmaxRows } from './probs.js';
import { checkClasses, checkLabels, checkNotEmpty, checkProbs, type Numbers } from './validate.js';

export interface ClassificationReportOptions {
  /** Number of classes: columns of `probs`; labels are 0..classes-1. */
  classes: number;
  /** A name per class, for the report and its notes. Default: the class index. */
  classNames?: readonly string[];
  /**
   * Binary problems (classes = 2) only: predict `positiveClass` when its
   * probability is `>= threshold`, the other class otherwise. Default 0.5.
   */
  threshold?: number;
  /** Binary problems only: the class `threshold` applies to, 0 or 1. Default 1. */
  positiveClass?: number;
}

/** How predictions were made from the probabilities. */
export type DecisionRule =
  | { rule: 'argmax' }
  | { rule: 'threshold'; threshold: number; positiveClass: number };

export interface ClassMetrics {
  index: number;
  name: string;
  /** tp / (tp + fp); 0 when nothing was predicted as this class (see `zeroDivision`). */
  precision: number;
  /** tp / (tp + fn); 0 when the class has no samples (see `zeroDivision`). */
  recall: number;
  /** 2tp / (2tp + fp + fn), the harmonic mean of precision and recall; 0 when undefined. */
  f1: number;
  /** Number of samples of this class. */
  support: number;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** All samples. */
  support: number;
}

export interface ClassificationReport {
  /** One entry per class 0..classes-1, present in the data or not. */
  perClass: ClassMetrics[];
  /** Fraction of samples predicted correctly. */
  accuracy: number;
  /** Unweighted mean over classes (scikit-learn's "macro avg"). */
  macroAvg: AveragedMetrics;
  /** Mean over classes weighted by support (scikit-learn's "weighted avg"). */
  weightedAvg: AveragedMetrics;
  /** Rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  decision: DecisionRule;
  /**
   * One note per metric that was undefined (0/0) and set to 0, as
   * scikit-learn's `zero_division` warning; empty when all were defined.
   */
  zeroDivision: string[];
}

function decisionRule(where: string, options: ClassificationReportOptions): DecisionRule {
  const { classes, threshold, positiveClass } = options;
  if (classes !== 2) {
    if (threshold !== undefined || positiveClass !== undefined) {
      throw new ConfigError(
        `${where}: threshold and positiveClass apply to binary problems: ` +
          `expected classes = 2, got classes = ${classes}`,
      );
    }
    return { rule: 'argmax' };
  }
  const t = threshold ?? 0.5;
  const pc = positiveClass ?? 1;
  if (!Number.isFinite(t)) throw new ConfigError(`${where}: expected a finite threshold, got ${String(t)}`);
  if (pc !== 0 && pc !== 1) throw new ConfigError(`${where}: expected positiveClass 0 or 1, got ${String(pc)}`);
  return { rule: 'threshold', threshold: t, positiveClass: pc };
}

function predict(probs: Numbers, classes: number, decision: DecisionRule): Int32Array {
  if (decision.rule === 'argmax') return argmaxRows(probs, classes);
  const { threshold, positiveClass } = decision;
  const n = probs.length / 2;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = probs[i * 2 + positiveClass]! >= threshold ? positiveClass : 1 - positiveClass;
  return out;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/**
 * The classification report of `labels` against probabilities `probs`
 * `[n, classes]` row-major. Multi-class predictions are the argmax of each
 * row (the first class on ties); binary ones use `threshold` (see the options).
 * Metrics that are 0/0 are set to 0 and listed in `zeroDivision`; averages
 * include every class, also classes absent from the data.
 * Throws DataError on invalid data, ConfigError on invalid options.
 */
export function classificationReport(
  labels: Numbers,
  probs: Numbers,
  options: ClassificationReportOptions,
): ClassificationReport {
  const where = 'classificationReport';
  const { classes } = options;
  checkClasses(where, classes);
  const names = options.classNames ?? Array.from({ length: classes }, (_, c) => String(c));
  if (names.length !== classes) {
    throw new ConfigError(`${where}: expected ${classes} classNames (one per class), got ${names.length}`);
  }
  const decision = decisionRule(where, options);
  checkNotEmpty(where, labels);
  checkProbs(where, probs, labels.length, classes);
  checkLabels(where, 'labels', labels, classes);

  const n = labels.length;
  const matrix = countPairs(labels, predict(probs, classes, decision), classes);
  const zeroDivision: string[] = [];
  const perClass: ClassMetrics[] = [];
  let correct = 0;
  for (let c = 0; c < classes; c++) {
    const { tp, support, predicted, precision, recall } = classOutcome(matrix, c);
    const fn = support - tp;
    const fp = predicted - tp;
    const name = names[c]!;
    const label = `class '${name}' (${c})`;
    if (predicted === 0) zeroDivision.push(`precision of ${label}: no predicted samples (tp + fp = 0); set to 0`);
    if (support === 0) zeroDivision.push(`recall of ${label}: no true samples (tp + fn = 0); set to 0`);
    if (predicted === 0 && support === 0) {
      zeroDivision.push(`f1 of ${label}: no true or predicted samples (2tp + fp + fn = 0); set to 0`);
    }
    correct += tp;
    perClass.push({
      index: c,
      name,
      precision,
      recall,
      f1: ratio(2 * tp, 2 * tp + fp + fn),
      support,
    });
  }
  const average = (weight: (m: ClassMetrics) => number): AveragedMetrics => {
    const total = perClass.reduce((a, m) => a + weight(m), 0);
    const mean = (pick: (m: ClassMetrics) => number): number =>
      perClass.reduce((a, m) => a + weight(m) * pick(m), 0) / total;
    return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1), support: n };
  };
  return {
    perClass,
    accuracy: correct / n,
    macroAvg: average(() => 1),
    weightedAvg: average((m) => m.support),
    confusionMatrix: matrix,
    decision,
    zeroDivision,
  };
}
