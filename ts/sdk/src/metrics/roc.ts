/**
 * The ROC curve and the area under it, as scikit-learn's `roc_curve`
 * (with `drop_intermediate=False`) and `roc_auc_score`.
 */
import { checkClasses, checkFinite, checkLabels, checkLength, checkProbs, type Numbers } from './validate.js';
import { rank, requireBothClasses, type Ranking } from './ranking.js';

export interface RocCurve {
  /** False positive rate at each threshold, from 0 up to 1. */
  fpr: number[];
  /** True positive rate at each threshold, from 0 up to 1. */
  tpr: number[];
  /**
   * Decreasing thresholds: `Infinity` first (nothing predicted positive), then
   * every distinct score once. Point `i` predicts positive when `score >= thresholds[i]`.
   */
  thresholds: number[];
}

const BINARY = { positive: 'positives (label 1)', negative: 'negatives (label 0)' };

function rankBinary(where: string, labels: Numbers, scores: Numbers): Ranking {
  checkLength(where, 'scores', scores, labels.length, 'one per label');
  checkLabels(where, 'labels', labels, 2);
  checkFinite(where, 'scores', scores);
  const r = rank(labels, scores, 1);
  requireBothClasses(where, r, labels.length, BINARY);
  return r;
}

/**
 * The ROC curve of binary `labels` (0 or 1) against `scores` (higher = more
 * likely 1). One point per distinct score: tied scores move the curve
 * diagonally in one step, never through an order the scores do not define.
 * Throws DataError on invalid input or when only one class is present.
 */
export function rocCurve(labels: Numbers, scores: Numbers): RocCurve {
  const r = rankBinary('rocCurve', labels, scores);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  for (let i = 0; i < r.thresholds.length; i++) {
    fpr.push(r.fps[i]! / r.negatives);
    tpr.push(r.tps[i]! / r.positives);
    thresholds.push(r.thresholds[i]!);
  }
  return { fpr, tpr, thresholds };
}

/**
 * Twice the area under the ROC curve in count units (trapezoids over the
 * points, fp on x and tp on y): an exact integer, equal to twice the
 * Mann–Whitney U statistic with ties counted 1/2.
 */
function twiceAreaCounts(r: Ranking): number {
  let area2 = 0;
  let fp = 0;
  let tp = 0;
  for (let i = 0; i < r.thresholds.length; i++) {
    const fpNext = r.fps[i]!;
    const tpNext = r.tps[i]!;
    area2 += (fpNext - fp) * (tp + tpNext);
    fp = fpNext;
    tp = tpNext;
  }
  return area2;
}

function auc(r: Ranking): number {
  return twiceAreaCounts(r) / (2 * r.positives * r.negatives);
}

/**
 * The exact area under the ROC curve of binary `labels` against `scores`:
 * the probability that a random positive scores above a random negative,
 * ties counting 1/2 (the Mann–Whitney U statistic over positives × negatives).
 * Throws DataError on invalid input or when only one class is present.
 */
export function rocAuc(labels: Numbers, scores: Numbers): number {
  return auc(rankBinary('rocAuc', labels, scores));
}

/**
 * One-vs-rest macro AUC of `labels` (0..classes-1) against probabilities
 * `probs` `[n, classes]` row-major, as scikit-learn's
 * `roc_auc_score(multi_class='ovr', average='macro')`: the mean over classes
 * of the AUC of "class c" vs "any other class" scored by column c. Rows need
 * not sum to 1. Throws DataError when a class has no samples, or every sample
 * is of that class (its AUC is undefined), naming the class.
 */
export function rocAucOvr(labels: Numbers, probs: Numbers, classes: number): number {
  const where = 'rocAucOvr';
  checkClasses(where, classes);
  checkProbs(where, probs, labels.length, classes);
  checkLabels(where, 'labels', labels, classes);
  const n = labels.length;
  const column = new Float64Array(n);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < n; i++) column[i] = probs[i * classes + c]!;
    const r = rank(labels, column, c);
    requireBothClasses(`${where}: class ${c} vs rest`, r, n, {
      positive: `samples of class ${c}`,
      negative: `samples of other classes`,
    });
    sum += auc(r);
  }
  return sum / classes;
}
