/**
 * Non-finite model outputs are an error, never a result: a model whose
 * weights are NaN (or overflow) would otherwise report NaN probabilities,
 * class indices no output has, or a NaN loss as if they were predictions.
 * The checks run per batch on values the caller already holds.
 */
import { NonFiniteOutputError } from '../errors.js';

/**
 * Throws NonFiniteOutputError at the first NaN or ±Infinity in `outputs`
 * (`[batch, units]` row-major, the batch starting at sample `firstSample`).
 */
export function checkFiniteOutputs(model: string, where: string, outputs: Float32Array, units: number, firstSample: number): void {
  for (let i = 0; i < outputs.length; i++) {
    const v = outputs[i]!;
    if (Number.isFinite(v)) continue;
    const sample = firstSample + Math.floor(i / units);
    const unit = i % units;
    throw new NonFiniteOutputError(
      `${where}: model '${model}' output ${v} for sample ${sample} (output unit ${unit}); its weights are not finite or overflow, so no result is returned`,
      sample,
      unit,
      v,
    );
  }
}

/**
 * After an evaluation batch whose loss is not finite: the first non-finite
 * output when there is one, else the loss itself (e.g. a target the model
 * gives probability 0 without clipping).
 */
export function nonFiniteLossError(model: string, outputs: Float32Array, units: number, firstSample: number, loss: number): NonFiniteOutputError {
  try {
    checkFiniteOutputs(model, 'evaluate', outputs, units, firstSample);
  } catch (err) {
    if (err instanceof NonFiniteOutputError) return err;
    throw err;
  }
  return new NonFiniteOutputError(`evaluate: model '${model}' gave a loss of ${loss} on the batch starting at sample ${firstSample}`, firstSample, -1, loss);
}
