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
