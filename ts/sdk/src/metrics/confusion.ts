/** The confusion matrix, as scikit-learn's `confusion_matrix`. */
import { checkClasses, checkLabels, checkLength, type Numbers } from './validate.js';

/**
 * Counts of (true class, predicted class) pairs: `m[t][p]` is the number of
 * samples of class `t` predicted as `p` (rows = true, columns = predicted, like
 * scikit-learn). Every class in [0, classes) has a row and a column, present
 * or not. Throws DataError on mismatched lengths or labels out of range.
 */
export function confusionMatrix(labels: Numbers, predicted: Numbers, classes: number): number[][] {
  const where = 'confusionMatrix';
  checkClasses(where, classes);
  checkLength(where, 'predicted', predicted, labels.length, 'one per label');
  checkLabels(where, 'labels', labels, classes);
  checkLabels(where, 'predicted', predicted, classes);
  return countPairs(labels, predicted, classes);
}

/** confusionMatrix without the checks, for callers that validated already. */
export function countPairs(labels: Numbers, predicted: Numbers, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]!]![predicted[i]!]! += 1;
  return m;
}

/** One class of a confusion matrix: its counts, and precision and recall from them. */
export interface ClassOutcome {
  /** Samples of the class predicted as it. */
  tp: number;
  /** Samples of the class (its row's sum). */
  support: number;
  /** Samples predicted as the class (its column's sum). */
  predicted: number;
  /** tp / predicted; 0 when no sample is predicted as the class (scikit-learn's zero_division=0, Keras). */
  precision: number;
  /** tp / support; 0 when the class has no samples. */
  recall: number;
}

/** Class `c`'s outcome in confusion matrix `m` (`m[t][p]`, as `countPairs` gives). */
export function classOutcome(m: readonly (readonly number[])[], c: number): ClassOutcome {
  const tp = m[c]![c]!;
  const support = m[c]!.reduce((a, b) => a + b, 0);
  const predicted = m.reduce((a, row) => a + row[c]!, 0);
  return { tp, support, predicted, precision: predicted === 0 ? 0 : tp / predicted, recall: support === 0 ? 0 : tp / support };
}
