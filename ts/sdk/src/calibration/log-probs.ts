/**
 * Rows of model outputs as log-probabilities over the classes, the form every
 * calibration works in. `outputs` is the model's output width: the classes of
 * a softmax, or 1 for a sigmoid unit (class 1's probability; 2 classes).
 */
import { DataError } from '../errors.js';

/**
 * ln of the smallest positive float32 (2^-149). A float32 softmax output of 0
 * is a probability below it that underflowed; flooring its log there keeps
 * every log-probability finite (a logit gap of at most about 103).
 */
export const LOG_FLOOR = -149 * Math.LN2;

/** The classes behind `outputs` output units. */
export const classesOf = (outputs: number): number => (outputs === 1 ? 2 : outputs);

const floorLog = (p: number): number => (p > 0 ? Math.max(Math.log(p), LOG_FLOOR) : LOG_FLOOR);

/** Row `i` of `probs` `[n, outputs]` as log-probabilities into `out` (`classesOf(outputs)` values). */
export function rowLogProbs(probs: ArrayLike<number>, outputs: number, i: number, out: Float64Array): void {
  if (outputs === 1) {
    const p = probs[i]!;
    out[0] = floorLog(1 - p);
    out[1] = floorLog(p);
    return;
  }
  for (let c = 0; c < outputs; c++) out[c] = floorLog(probs[i * outputs + c]!);
}

/** Checks `probs` is `[n, outputs]` of finite values in [0, 1]; returns n. */
export function checkOutputs(where: string, probs: ArrayLike<number>, outputs: number): number {
  if (!Number.isInteger(outputs) || outputs < 1) throw new DataError(`${where}: expected outputs to be an integer >= 1 (1 for a sigmoid unit), got ${String(outputs)}`);
  if (probs.length % outputs !== 0) throw new DataError(`${where}: expected probabilities [n, ${outputs}] (a multiple of ${outputs} values), got ${probs.length}`);
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (!(v >= 0 && v <= 1)) throw new DataError(`${where}: probs[${i}]: expected a probability in [0, 1], got ${String(v)}`);
  }
  return probs.length / outputs;
}

/** The logistic function, without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** ln(1 + e^z), without overflow for large z. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}
