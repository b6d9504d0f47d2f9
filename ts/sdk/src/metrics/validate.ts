/**
 * Argument checks shared by the metrics. Each throws DataError naming the
 * function (`where`), the argument, what was expected and what was received.
 */
import { DataError } from '../errors.js';

/** Labels, scores and predictions: a plain array or any typed array. */
export type Numbers = ArrayLike<number>;

/** `classes` must be an integer >= 2. */
export function checkClasses(where: string, classes: number): void {
  if (!Number.isInteger(classes) || classes < 2) {
    throw new DataError(`${where}: expected classes to be an integer >= 2, got ${String(classes)}`);
  }
}

/** Every `values[i]` is an integer class index in [0, classes). */
export function checkLabels(where: string, name: string, values: Numbers, classes: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      const range = classes === 2 ? '0 or 1' : `an integer class in [0, ${classes - 1}]`;
      throw new DataError(`${where}: ${name}[${i}]: expected ${range}, got ${String(v)}`);
    }
  }
}

/** Every `values[i]` is finite (no NaN, no ±Infinity). */
export function checkFinite(where: string, name: string, values: Numbers): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      throw new DataError(`${where}: ${name}[${i}]: expected a finite number, got ${String(v)}`);
    }
  }
}

/** `values` holds exactly `expected` numbers; `what` explains the expectation. */
export function checkLength(where: string, name: string, values: Numbers, expected: number, what: string): void {
  if (values.length !== expected) {
    throw new DataError(`${where}: expected ${name} of length ${expected} (${what}), got ${values.length}`);
  }
}

/** At least one sample. */
export function checkNotEmpty(where: string, labels: Numbers): void {
  if (labels.length === 0) {
    throw new DataError(`${where}: expected at least 1 sample, got 0 labels`);
  }
}

/** Probabilities `[n, classes]` row-major for `n` labels: the right length and finite. */
export function checkProbs(where: string, probs: Numbers, n: number, classes: number): void {
  checkLength(where, 'probs', probs, n * classes, `${n} labels x ${classes} classes, row-major`);
  checkFinite(where, 'probs', probs);
}
