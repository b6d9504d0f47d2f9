/**
 * Samples ranked by score, grouped by distinct score: the counts behind the
 * ROC curve, the AUC and threshold selection. A sample is predicted positive
 * at threshold `t` when `score >= t` (scikit-learn's convention), so tied
 * scores always fall on the same side of a threshold.
 */
import { DataError } from '../errors.js';
import type { Numbers } from './validate.js';

export interface Ranking {
  /** The distinct scores, in decreasing order. */
  thresholds: Float64Array;
  /** `tps[i]`: positives with `score >= thresholds[i]`. */
  tps: Float64Array;
  /** `fps[i]`: negatives with `score >= thresholds[i]`. */
  fps: Float64Array;
  positives: number;
  negatives: number;
}

/**
 * Ranks `scores` (validated: finite, one per label); samples whose label
 * equals `positive` are positives, all others negatives.
 */
export function rank(labels: Numbers, scores: Numbers, positive: number): Ranking {
  const n = labels.length;
  const s = Float64Array.from(scores);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b]! - s[a]!);

  const thresholds = new Float64Array(n);
  const tps = new Float64Array(n);
  const fps = new Float64Array(n);
  let distinct = 0;
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (labels[i] === positive) tp++;
    else fp++;
    const next = order[k + 1];
    // Close the group at the last sample of each run of equal scores.
    if (next === undefined || s[next]! !== s[i]!) {
      thresholds[distinct] = s[i]!;
      tps[distinct] = tp;
      fps[distinct] = fp;
      distinct++;
    }
  }
  return {
    thresholds: thresholds.subarray(0, distinct),
    tps: tps.subarray(0, distinct),
    fps: fps.subarray(0, distinct),
    positives: tp,
    negatives: fp,
  };
}

/**
 * Throws DataError unless both classes are present: with a single class the
 * ROC curve and the AUC are undefined (0/0).
 */
export function requireBothClasses(
  where: string,
  r: Ranking,
  n: number,
  names: { positive: string; negative: string },
): void {
  const missing = r.positives === 0 ? names.positive : r.negatives === 0 ? names.negative : undefined;
  if (missing !== undefined) {
    throw new DataError(
      `${where}: undefined when only one class is present: expected both ${names.negative} and ${names.positive}, ` +
        `got no ${missing} among ${n} labels`,
    );
  }
}
