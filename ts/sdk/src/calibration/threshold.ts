/**
 * A stored decision threshold carried across a change of calibration, so a
 * model calibrated after its threshold was chosen (`lite-cnn calibrate`) keeps
 * making the same decisions.
 */
import { ConfigError } from '../errors.js';
import type { CalibrationConfig } from './config.js';
import { sigmoid } from './log-probs.js';

/** Class 1's calibrated logit as a function of the network's (`log(p1 / p0)`), and its inverse. */
function logitMap(c: CalibrationConfig | null): { forward: (s: number) => number; inverse: (z: number) => number } {
  if (c === null) return { forward: (s) => s, inverse: (z) => z };
  if (c.kind === 'temperature') return { forward: (s) => s / c.temperature, inverse: (z) => z * c.temperature };
  if (!(c.slope > 0)) {
    throw new ConfigError(`a Platt calibration with slope ${c.slope} reverses the order of the probabilities: a threshold cannot be carried through it`);
  }
  return { forward: (s) => c.slope * s + c.intercept, inverse: (z) => (z - c.intercept) / c.slope };
}

/**
 * The threshold on `positiveClass`'s probability (0 or 1 of a binary model)
 * under calibration `to` that decides as `threshold` did under `from` (null:
 * the network's own outputs). Both maps rise with class 1's logit, so
 * `q >= threshold` under `from` exactly when `q' >= result` under `to`, up to
 * the rounding of a probability that equals the threshold itself.
 */
export function carryThreshold(threshold: number, positiveClass: number, from: CalibrationConfig | null, to: CalibrationConfig | null): number {
  if (!(threshold >= 0 && threshold <= 1)) throw new ConfigError(`carryThreshold: expected a threshold in [0, 1], got ${String(threshold)}`);
  if (positiveClass !== 0 && positiveClass !== 1) throw new ConfigError(`carryThreshold: expected positiveClass 0 or 1, got ${String(positiveClass)}`);
  const [f, t] = [logitMap(from), logitMap(to)];
  if (threshold === 0 || threshold === 1) return threshold;
  // The positive class's logit at the threshold, as class 1's: negated for class 0.
  const sign = positiveClass === 1 ? 1 : -1;
  const z = sign * Math.log(threshold / (1 - threshold));
  return sigmoid(sign * t.forward(f.inverse(z)));
}
