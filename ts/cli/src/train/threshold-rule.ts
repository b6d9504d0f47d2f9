/**
 * How `--target-recall R` turns held-out scores (the validation split, or
 * `--threshold-cv`'s pooled out-of-fold predictions) into the stored
 * decision threshold (`--threshold-rule`):
 *
 * - `recall`: the largest threshold whose recall there reaches R
 *   (`thresholdForRecall`). When those images are easy (a few validation
 *   patients the model separates perfectly), that threshold sits far above
 *   0.5 (0.9-0.997 on the shared BreakHis tiles) and deliberately gives up
 *   1 - R of their positives; new patients' positives, scored lower, are then
 *   missed in bulk (docs/histology.md).
 * - `floor`: R is a floor under the default decision: 0.5 (the argmax of two
 *   classes) when the recall there already reaches R, else the `recall`
 *   rule's threshold, which is then below 0.5. That is `min(0.5, t_R)`:
 *   the threshold is only ever lowered to find positives, never raised.
 */
import { ConfigError, thresholdForRecall, type RecallThreshold } from '@lite-cnn/sdk';

export type ThresholdRule = 'recall' | 'floor';
export const THRESHOLD_RULES: readonly ThresholdRule[] = ['recall', 'floor'];

/** The decision of a binary model without a stored threshold: positive when its probability is >= 0.5. */
export const DEFAULT_THRESHOLD = 0.5;

/** Counts and rates of predicting positive at `score >= threshold`. */
function atThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): RecallThreshold {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const positive = scores[i]! >= threshold;
    if (labels[i] === 1) positive ? tp++ : fn++;
    else positive ? fp++ : tn++;
  }
  return { threshold, recall: tp / (tp + fn), precision: tp + fp > 0 ? tp / (tp + fp) : 0, truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn };
}

/**
 * The threshold `rule` stores for `targetRecall` on these `labels` (1 =
 * positive) and positive-class `scores`, with the recall and precision
 * reached on them. Errors are thresholdForRecall's.
 */
export function recallThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, targetRecall: number, rule: ThresholdRule): RecallThreshold {
  if (!THRESHOLD_RULES.includes(rule)) throw new ConfigError(`threshold rule must be one of ${THRESHOLD_RULES.join(', ')}, got ${String(rule)}`);
  const chosen = thresholdForRecall(labels, scores, targetRecall);
  return rule === 'floor' && chosen.threshold > DEFAULT_THRESHOLD ? atThreshold(labels, scores, DEFAULT_THRESHOLD) : chosen;
}
