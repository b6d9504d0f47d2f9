/**
 * A model's decision from its outputs `[n, units]`: arg-max over the classes,
 * or for a binary model a threshold on the positive class's probability
 * (the stored decision threshold, or 0.5 for a single sigmoid unit).
 */
import { DataError } from '../errors.js';
import { argmaxRows } from '../metrics/probs.js';
import { checkFinite } from '../metrics/validate.js';
import type { ModelMetadata } from './metadata.js';

export interface DecisionArgs {
  /** Overrides the stored threshold (binary models). */
  threshold?: number;
}

/** The predicted class of each row of `probs`; every value must be finite (NaN has no class). */
export function classesFromOutputs(probs: Float32Array, units: number, stored: ModelMetadata['threshold'], args: DecisionArgs = {}): Uint32Array {
  const where = 'classesFromProbabilities';
  if (probs.length % units !== 0) throw new DataError(`${where}: expected [n, ${units}] outputs (a multiple of ${units} values), got ${probs.length}`);
  checkFinite(where, 'probs', probs);
  const threshold = args.threshold ?? stored?.value;
  const n = probs.length / units;
  const out = new Uint32Array(n);
  if (units === 1) {
    for (let i = 0; i < n; i++) out[i] = probs[i]! >= (threshold ?? 0.5) ? 1 : 0;
  } else if (units === 2 && threshold !== undefined) {
    const pos = stored?.positiveClass ?? 1;
    for (let i = 0; i < n; i++) out[i] = probs[i * 2 + pos]! >= threshold ? pos : 1 - pos;
  } else {
    out.set(argmaxRows(probs, units));
  }
  return out;
}
