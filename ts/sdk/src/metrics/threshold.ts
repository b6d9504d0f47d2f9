/** Choosing a decision threshold on validation data for a target recall. */
import { ConfigError, DataError } from '../errors.js';
import { checkFinite, checkLabels, checkLength, type Numbers } from './validate.js';
import { rank } from './ranking.js';

export interface RecallThreshold {
  /** Predict positive when `score >= threshold`; one of the given scores. */
  threshold: number;
  /** Recall (true positive rate) at `threshold` on these data: >= the target. */
  recall: number;
  /** Precision at `threshold` on these data (defined: at least one true positive). */
  precision: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
}

/**
 * The largest threshold whose recall on `labels` (0 or 1; 1 = positive)
 * reaches `targetRecall`, predicting positive when `score >= threshold`,
 * with the recall and precision achieved there. E.g. malignant recall >= 0.9
 * on a validation split: `thresholdForRecall(valLabels, classScores(valProbs, 2, 1), 0.9)`.
 *
 * Ties: samples with equal scores are on the same side of any threshold, so
 * recall moves in steps of whole groups of tied scores and the achieved
 * recall may exceed the target. The threshold returned is the lowest score
 * of the chosen group: any threshold between it and the next lower distinct
 * score gives the same predictions on these data, this one is the largest.
 *
 * Throws ConfigError unless `targetRecall` is in (0, 1]; DataError on
 * mismatched lengths, labels other than 0/1, non-finite scores, or no positives.
 */
export function thresholdForRecall(labels: Numbers, scores: Numbers, targetRecall: number): RecallThreshold {
  const where = 'thresholdForRecall';
  if (!(targetRecall > 0 && targetRecall <= 1)) {
    throw new ConfigError(`${where}: expected targetRecall in (0, 1], got ${String(targetRecall)}`);
  }
  checkLength(where, 'scores', scores, labels.length, 'one per label');
  checkLabels(where, 'labels', labels, 2);
  checkFinite(where, 'scores', scores);
  const r = rank(labels, scores, 1);
  if (r.positives === 0) {
    throw new DataError(
      `${where}: recall is undefined without positives: ` +
        `expected at least one label 1, got none among ${labels.length} labels`,
    );
  }
  // Recall reaches 1 at the lowest positive score, so the search always succeeds.
  let i = 0;
  while (r.tps[i]! / r.positives < targetRecall) i++;
  const tp = r.tps[i]!;
  const fp = r.fps[i]!;
  return {
    threshold: r.thresholds[i]!,
    recall: tp / r.positives,
    precision: tp / (tp + fp),
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: r.positives - tp,
    trueNegatives: r.negatives - fp,
  };
}
