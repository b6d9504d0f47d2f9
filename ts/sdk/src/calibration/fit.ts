/**
 * Fitting a calibration (config.ts) to held-out predictions: the outputs of
 * a trained model on data it did not train on (a validation split, or
 * out-of-fold predictions), with their labels. Both maps are fitted by
 * minimizing the cross-entropy against Platt's smoothed targets (below), a
 * convex problem in their parameters, by safeguarded Newton iterations in
 * float64.
 *
 * Why smoothed targets and not the labels themselves (the plain negative
 * log-likelihood): held-out data of a few patients is often separated, every
 * prediction right and on the right side of 0.5. The labels' likelihood then
 * grows without end as the map sharpens, and its fit would turn every
 * probability into 0 or 1. Platt (1999) replaces a label by
 * `(N + 1) / (N + 2)` for its class (N: the held-out samples of that class),
 * the rest spread over the other classes: the fit stays finite on separated
 * data, reflects how few samples it saw, and tends to the plain likelihood's
 * as N grows. (After N right answers in N, Laplace's rule of succession puts
 * the next one's chance at (N + 1) / (N + 2): on the held-out samples
 * themselves the fitted map then looks under-confident, by design.) Temperature scaling uses the same targets (for two classes,
 * exactly Platt's with the intercept held at 0).
 */
import { ConfigError, DataError } from '../errors.js';
import { checkLabels, checkNotEmpty } from '../metrics/validate.js';
import { type CalibrationConfig, type CalibrationKind, CALIBRATION_KINDS } from './config.js';
import { checkOutputs, classesOf, rowLogProbs, sigmoid, softplus } from './log-probs.js';

/**
 * The temperatures searched. The smoothed targets keep the fit finite on
 * separated data; a fit at a bound means outputs with (almost) no relation
 * to the labels (MAX: every prediction confidently wrong) or a pathological
 * set, and `atBound` reports it.
 */
export const MIN_TEMPERATURE = 0.01;
export const MAX_TEMPERATURE = 100;

export interface CalibrationFit {
  config: CalibrationConfig;
  /** Held-out predictions it was fitted on. */
  samples: number;
  /** Mean negative log-likelihood of their labels before and after the map. */
  nll: { before: number; after: number };
  /** Temperature only: the fit stopped at MIN_ or MAX_TEMPERATURE. */
  atBound: boolean;
}

/** Fits `kind` on held-out `probs` `[n, outputs]` (1 output: a sigmoid unit) and their `labels`. */
export function fitCalibration(kind: CalibrationKind, probs: ArrayLike<number>, labels: ArrayLike<number>, outputs: number): CalibrationFit {
  switch (kind) {
    case 'temperature':
      return fitTemperature(probs, labels, outputs);
    case 'platt':
      return fitPlatt(probs, labels, outputs);
    default:
      throw new ConfigError(`fitCalibration: kind must be one of ${CALIBRATION_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
}

/** The rows' log-probabilities `[n, classes]` after the common checks. */
function heldOut(where: string, probs: ArrayLike<number>, labels: ArrayLike<number>, outputs: number): { lp: Float64Array; classes: number; n: number } {
  const n = checkOutputs(where, probs, outputs);
  if (labels.length !== n) throw new DataError(`${where}: expected one label per row of probabilities (${n}), got ${labels.length}`);
  checkNotEmpty(where, labels);
  const classes = classesOf(outputs);
  checkLabels(where, 'labels', labels, classes);
  const lp = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) rowLogProbs(probs, outputs, i, lp.subarray(i * classes, (i + 1) * classes));
  return { lp, classes, n };
}

/**
 * Platt's smoothed target of each row (see the file's comment), as the
 * target-weighted mean of its log-probabilities, `Σ_c t_c ℓ_c`, the only
 * form the temperature fit needs.
 */
function smoothedTargetLogs(lp: Float64Array, labels: ArrayLike<number>, classes: number): Float64Array {
  const n = labels.length;
  const perClass = new Float64Array(classes);
  for (let i = 0; i < n; i++) perClass[labels[i]!]! += 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const hit = (perClass[y]! + 1) / (perClass[y]! + 2);
    const rest = (1 - hit) / (classes - 1);
    let s = 0;
    for (let c = 0; c < classes; c++) s += (c === y ? hit : rest) * lp[i * classes + c]!;
    out[i] = s;
  }
  return out;
}

/**
 * The mean cross-entropy at inverse temperature `beta` against per-row
 * targets given as `targetLogs[i] = Σ_c t_c ℓ_c` (one-hot labels: `ℓ_y`, the
 * NLL), with its first and second derivatives: per row
 * `logsumexp(beta ℓ) - beta Σ t ℓ`, whose derivative is `E_q[ℓ] - Σ t ℓ` and
 * second derivative `Var_q[ℓ] >= 0` (q = softmax(beta ℓ)).
 */
function temperatureLoss(lp: Float64Array, targetLogs: ArrayLike<number>, classes: number, beta: number): { f: number; g: number; h: number } {
  let f = 0;
  let g = 0;
  let h = 0;
  const n = targetLogs.length;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, beta * lp[row + c]!);
    let sum = 0;
    let mean = 0;
    let square = 0;
    for (let c = 0; c < classes; c++) {
      const l = lp[row + c]!;
      const e = Math.exp(beta * l - max);
      sum += e;
      mean += e * l;
      square += e * l * l;
    }
    mean /= sum;
    const y = targetLogs[i]!;
    f += max + Math.log(sum) - beta * y;
    g += mean - y;
    h += Math.max(square / sum - mean * mean, 0);
  }
  return { f: f / n, g: g / n, h: h / n };
}

/**
 * Temperature scaling: the T in [MIN_TEMPERATURE, MAX_TEMPERATURE] whose
 * `softmax(log p / T)` has the lowest mean cross-entropy against the smoothed
 * targets. Any number of classes. Outputs that carry no information to scale
 * (every row uniform) keep T = 1.
 */
export function fitTemperature(probs: ArrayLike<number>, labels: ArrayLike<number>, outputs: number): CalibrationFit {
  const { lp, classes, n } = heldOut('fitTemperature', probs, labels, outputs);
  const labelLogs = Float64Array.from({ length: n }, (_, i) => lp[i * classes + labels[i]!]!);
  const targets = smoothedTargetLogs(lp, labels, classes);
  const loss = (beta: number) => temperatureLoss(lp, targets, classes, beta);
  const before = temperatureLoss(lp, labelLogs, classes, 1);
  const done = (beta: number, atBound: boolean): CalibrationFit => ({
    config: { kind: 'temperature', temperature: 1 / beta },
    samples: n,
    nll: { before: before.f, after: temperatureLoss(lp, labelLogs, classes, beta).f },
    atBound,
  });
  if (before.h === 0) return done(1, false);
  // The derivative rises with beta (the NLL is convex in it): find its zero in the bracket.
  let lo = 1 / MAX_TEMPERATURE;
  let hi = 1 / MIN_TEMPERATURE;
  if (loss(lo).g >= 0) return done(lo, true);
  if (loss(hi).g <= 0) return done(hi, true);
  let beta = 1;
  for (let it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
    const { g, h } = loss(beta);
    if (g === 0) break;
    if (g > 0) hi = beta;
    else lo = beta;
    // Newton's step where it stays inside the bracket, else bisection.
    const next = h > 0 ? beta - g / h : Number.NaN;
    beta = next > lo && next < hi ? next : (lo + hi) / 2;
  }
  return done(beta, false);
}

/**
 * Platt scaling for binary models: the slope and intercept whose
 * `sigmoid(slope * log(p1 / p0) + intercept)` gives the lowest cross-entropy
 * against Platt's smoothed targets, `(N+ + 1) / (N+ + 2)` for class 1 and
 * `1 / (N- + 2)` for class 0 (they keep the fit finite on separable data and
 * correct for few samples), by Newton's method with a backtracking line
 * search (Lin, Lin and Weng 2007). Both classes must be present.
 */
export function fitPlatt(probs: ArrayLike<number>, labels: ArrayLike<number>, outputs: number): CalibrationFit {
  const where = 'fitPlatt';
  if (outputs > 2) throw new ConfigError(`${where}: Platt scaling is for binary models (2 softmax outputs or 1 sigmoid unit), got ${outputs} outputs`);
  const { lp, n } = heldOut(where, probs, labels, outputs);
  const s = new Float64Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    s[i] = lp[2 * i + 1]! - lp[2 * i]!;
    positives += labels[i]!;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new DataError(`${where}: Platt scaling needs held-out samples of both classes, got ${positives} of class 1 and ${negatives} of class 0`);
  }
  const hiTarget = (positives + 1) / (positives + 2);
  const loTarget = 1 / (negatives + 2);
  const target = (i: number) => (labels[i] === 1 ? hiTarget : loTarget);
  const loss = (a: number, b: number, t: (i: number) => number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const z = a * s[i]! + b;
      const ti = t(i);
      f += ti * softplus(-z) + (1 - ti) * softplus(z);
    }
    return f;
  };
  let a = 0;
  let b = Math.log((positives + 1) / (negatives + 1));
  let f = loss(a, b, target);
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * s[i]! + b);
      const d = p - target(i);
      const w = p * (1 - p);
      ga += d * s[i]!;
      gb += d;
      haa += w * s[i]! * s[i]!;
      hab += w * s[i]!;
      hbb += w;
    }
    if (Math.max(Math.abs(ga), Math.abs(gb)) < 1e-10 * n) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    const slope = ga * da + gb * db;
    let step = 1;
    while (step >= 1e-10) {
      const fNew = loss(a + step * da, b + step * db, target);
      if (fNew < f + 1e-4 * step * slope) {
        a += step * da;
        b += step * db;
        f = fNew;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) break; // no descent left: at the minimum within float64
  }
  const labelLoss = (x: number, y: number) => loss(x, y, (i) => labels[i]!) / n;
  return { config: { kind: 'platt', slope: a, intercept: b }, samples: n, nll: { before: labelLoss(1, 0), after: labelLoss(a, b) }, atBound: false };
}
