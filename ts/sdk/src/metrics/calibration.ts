/**
 * How well predicted probabilities match observed frequencies: the expected
 * calibration error over equal-width confidence bins (Guo et al. 2017, of the
 * top label: the predicted class and its probability), its largest bin gap,
 * the Brier score, the negative log-likelihood, and the reliability diagram's
 * bins.
 */
import { checkOutputs, classesOf, LOG_FLOOR, rowLogProbs } from '../calibration/log-probs.js';
import { DataError } from '../errors.js';
import { checkLabels, checkNotEmpty, type Numbers } from './validate.js';

export interface ReliabilityBin {
  /** Confidences in (lower, upper] (the first bin includes its lower edge). */
  lower: number;
  upper: number;
  samples: number;
  /** Mean top-label probability of its samples; NaN when empty. */
  confidence: number;
  /** Share of its samples whose predicted class is right; NaN when empty. */
  accuracy: number;
}

export interface CalibrationMetrics {
  samples: number;
  /** Expected calibration error: the bins' |accuracy - confidence|, weighted by their samples. */
  ece: number;
  /** Maximum calibration error: the largest |accuracy - confidence| of a non-empty bin. */
  mce: number;
  /** Brier's score: the mean over samples of Σ_c (p_c - [c = label])² (for 2 classes twice scikit-learn's brier_score_loss). */
  brier: number;
  /** Mean negative log-likelihood of the labels (log-probabilities floored at ln 2^-149). */
  nll: number;
  reliability: ReliabilityBin[];
}

export interface CalibrationMetricsOptions {
  /** Columns of `probs`: the classes, or 1 for a sigmoid unit's class-1 probability. */
  outputs: number;
  /** Equal-width confidence bins over [0, 1] (default 15, as Guo et al.). */
  bins?: number;
}

/** Calibration of probabilities `probs` `[n, outputs]` against `labels` (class indices). */
export function calibrationMetrics(labels: Numbers, probs: Numbers, opts: CalibrationMetricsOptions): CalibrationMetrics {
  const where = 'calibrationMetrics';
  const { outputs } = opts;
  const bins = opts.bins ?? 15;
  if (!Number.isInteger(bins) || bins < 1) throw new DataError(`${where}: expected bins to be an integer >= 1, got ${String(bins)}`);
  const n = checkOutputs(where, probs, outputs);
  if (labels.length !== n) throw new DataError(`${where}: expected one label per row of probabilities (${n}), got ${labels.length}`);
  checkNotEmpty(where, labels);
  const classes = classesOf(outputs);
  checkLabels(where, 'labels', labels, classes);

  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const rightSum = new Float64Array(bins);
  const lp = new Float64Array(classes);
  let brier = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    let best = 0;
    let top = -1;
    for (let c = 0; c < classes; c++) {
      const p = outputs === 1 ? (c === 1 ? probs[i]! : 1 - probs[i]!) : probs[i * outputs + c]!;
      brier += (p - (c === y ? 1 : 0)) ** 2;
      // The first class on ties, as the arg-max decision (a sigmoid at exactly 0.5 is class 1's, as its threshold).
      if (p > top || (outputs === 1 && c === 1 && p === top)) {
        top = p;
        best = c;
      }
    }
    rowLogProbs(probs, outputs, i, lp);
    nll -= Math.max(lp[y]!, LOG_FLOOR);
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(top * bins) - 1));
    count[b]! += 1;
    confSum[b]! += top;
    rightSum[b]! += best === y ? 1 : 0;
  }
  let ece = 0;
  let mce = 0;
  const reliability: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const k = count[b]!;
    const confidence = k > 0 ? confSum[b]! / k : Number.NaN;
    const accuracy = k > 0 ? rightSum[b]! / k : Number.NaN;
    if (k > 0) {
      const gap = Math.abs(accuracy - confidence);
      ece += (k / n) * gap;
      mce = Math.max(mce, gap);
    }
    reliability.push({ lower: b / bins, upper: (b + 1) / bins, samples: k, confidence, accuracy });
  }
  return { samples: n, ece, mce, brier: brier / n, nll: nll / n, reliability };
}
