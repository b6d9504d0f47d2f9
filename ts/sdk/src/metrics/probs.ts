/**
 * Row helpers over probabilities `[n, classes]` (row-major): the predicted
 * class of each row and one class's column of scores.
 */
import { DataError } from '../errors.js';
import { checkClasses, checkFinite, type Numbers } from './validate.js';

/** The index of each row's largest value; the first one on ties (like NumPy's argmax). */
export function argmaxRows(probs: Numbers, classes: number): Int32Array {
  const n = Math.floor(probs.length / classes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    let bestValue = probs[row]!;
    for (let c = 1; c < classes; c++) {
      const v = probs[row + c]!;
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Column `classIndex` of probabilities `[n, classes]`: the scores of one class,
 * e.g. `classScores(probs, 2, 1)` for the positive class of a binary model, to
 * pass to rocCurve, rocAuc or thresholdForRecall.
 */
export function classScores(probs: Numbers, classes: number, classIndex: number): Float32Array {
  const where = 'classScores';
  checkClasses(where, classes);
  if (probs.length % classes !== 0) {
    throw new DataError(
      `${where}: expected probs of length a multiple of ${classes} ([n, ${classes}] row-major), got ${probs.length}`,
    );
  }
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new DataError(`${where}: expected classIndex in [0, ${classes - 1}], got ${String(classIndex)}`);
  }
  checkFinite(where, 'probs', probs);
  const n = probs.length / classes;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = probs[i * classes + classIndex]!;
  return out;
}
