/** Applying a stored calibration (config.ts) to model outputs. */
import { ConfigError } from '../errors.js';
import { type CalibrationConfig, calibrationFitsOutputs } from './config.js';
import { checkOutputs, classesOf, rowLogProbs, sigmoid } from './log-probs.js';

/**
 * Calibrated probabilities of outputs `probs` `[n, outputs]` (a softmax's
 * rows, or one sigmoid unit's class-1 probabilities when `outputs` is 1), in
 * the same layout. Computed in float64 from the log-probabilities, so a
 * probability near 0 keeps its precision instead of being `1 - q`.
 */
export function calibrateProbabilities(probs: ArrayLike<number>, outputs: number, c: CalibrationConfig): Float32Array {
  const where = 'calibrateProbabilities';
  const n = checkOutputs(where, probs, outputs);
  if (!calibrationFitsOutputs(c, outputs)) throw new ConfigError(`${where}: Platt scaling is for binary models (2 softmax outputs or 1 sigmoid unit), got ${outputs} outputs`);
  const classes = classesOf(outputs);
  const lp = new Float64Array(classes);
  const out = new Float32Array(probs.length);
  for (let i = 0; i < n; i++) {
    rowLogProbs(probs, outputs, i, lp);
    if (c.kind === 'platt') {
      const z = c.slope * (lp[1]! - lp[0]!) + c.intercept;
      if (outputs === 1) out[i] = sigmoid(z);
      else {
        out[2 * i] = sigmoid(-z);
        out[2 * i + 1] = sigmoid(z);
      }
      continue;
    }
    if (outputs === 1) {
      out[i] = sigmoid((lp[1]! - lp[0]!) / c.temperature);
      continue;
    }
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, lp[k]! / c.temperature);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(lp[k]! / c.temperature - max);
    for (let k = 0; k < classes; k++) out[i * classes + k] = Math.exp(lp[k]! / c.temperature - max) / sum;
  }
  return out;
}
