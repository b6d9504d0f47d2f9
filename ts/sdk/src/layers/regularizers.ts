/**
 * Kernel regularizers. "L2 lambda 0.1" has two readings (ARCHITECTURE.md §7):
 * - `l2(lambda)` is Keras' `l2`: adds `lambda · sum(W²)` to the loss;
 * - `studyL2(lambda)` is what the BreakHis study's NumPy code did:
 *   `lambda / (2 · batch) · sum(W²)`, about 64× weaker at lambda 0.1, batch 32.
 * `summary()` and the saved config name the form a model uses.
 */
import { ConfigError } from '../errors.js';

export interface L2Regularizer {
  kind: 'l2';
  form: 'keras' | 'study';
  lambda: number;
}

function make(form: L2Regularizer['form'], lambda: number): L2Regularizer {
  if (!Number.isFinite(lambda) || lambda < 0) throw new ConfigError(`l2: lambda must be finite and >= 0, got ${lambda}`);
  return { kind: 'l2', form, lambda };
}

/** Keras `l2(lambda)`: `lambda · sum(W²)`. */
export function l2(lambda: number): L2Regularizer {
  return make('keras', lambda);
}

/** The study's penalty: `lambda / (2 · batch) · sum(W²)`. */
export function studyL2(lambda: number): L2Regularizer {
  return make('study', lambda);
}

/** Validates a regularizer read from a file or built by hand. */
export function checkRegularizer(r: L2Regularizer): L2Regularizer {
  if (typeof r !== 'object' || r === null || r.kind !== 'l2' || (r.form !== 'keras' && r.form !== 'study')) {
    throw new ConfigError(`kernelRegularizer must be l2(lambda) or studyL2(lambda), got ${JSON.stringify(r)}`);
  }
  return make(r.form, r.lambda);
}

export function describeRegularizer(r: L2Regularizer): string {
  return r.form === 'keras' ? `l2(${r.lambda}) [Keras: ${r.lambda}·ΣW²]` : `studyL2(${r.lambda}) [study: ${r.lambda}/(2·batch)·ΣW²]`;
}
