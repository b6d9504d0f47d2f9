/**
 * `train --calibrate temperature|platt`: a probability calibration fitted on
 * held-out predictions of the stored model (the validation split, or
 * --threshold-cv's pooled out-of-fold predictions) and stored in the model
 * file (`metadata.calibration`), so `predict`, `evaluate`, `explain`, the SDK
 * and the browser report calibrated probabilities. It is fitted before the
 * --target-recall threshold, which is then chosen on the calibrated
 * probabilities it will be applied to.
 */
import { ConfigError, fitCalibration, type CalibrationConfig, type CalibrationFit, type CalibrationKind, type CalibrationMetrics, type Dataset, type Model } from '@lite-cnn/sdk';
import { count, fixed, percent } from '../ui/format.js';

/** Platt scaling is binary; checked before a run writes anything. `flag`: the option that chose it. */
export function checkCalibrationFits(kind: CalibrationKind | null | undefined, model: Model, flag = '--calibrate'): void {
  if (kind === 'platt' && model.classes !== 2) {
    throw new ConfigError(`${flag} platt fits binary models; this one has ${model.classes} classes (use ${flag} temperature)`);
  }
}

/** Fits `kind` on `model`'s own outputs for `val` and stores it in `model.metadata` (the caller saves the file). */
export async function calibrateOnValidation(model: Model, val: Dataset, kind: CalibrationKind, batchSize: number): Promise<CalibrationFit> {
  const labels = val.labels();
  if (!labels) throw new ConfigError('--calibrate: the validation data has no labels');
  const outputs = await model.predict(val, { batchSize, calibrated: false });
  const fit = fitWhere(kind, outputs, labels, model.outputShape[2], `the validation split (${val.size} images)`);
  model.metadata = { ...model.metadata, calibration: fit.config };
  return fit;
}

/** fitCalibration with the held-out data (and `flag`, the option that chose it) named in its errors. */
export function fitWhere(kind: CalibrationKind, outputs: Float32Array, labels: ArrayLike<number>, units: number, where: string, flag = '--calibrate'): CalibrationFit {
  try {
    return fitCalibration(kind, outputs, labels, units);
  } catch (cause) {
    throw new ConfigError(`${flag} ${kind}: cannot fit on ${where}: ${(cause as Error).message}`, { cause });
  }
}

/** "temperature 1.84" or "Platt: slope 0.62, intercept -0.31". */
export function describeCalibration(c: CalibrationConfig): string {
  return c.kind === 'temperature' ? `temperature ${fixed(c.temperature, 4)}` : `Platt: slope ${fixed(c.slope, 4)}, intercept ${fixed(c.intercept, 4)}`;
}

/** "ECE 3.1% (15 bins), Brier 0.0810, NLL 0.2450": how well probabilities match frequencies. */
export function calibrationFigures(m: CalibrationMetrics): string {
  return `ECE ${percent(m.ece, 1)} (${m.reliability.length} bins), Brier ${fixed(m.brier, 4)}, NLL ${fixed(m.nll, 4)}`;
}

/** The run output's line for a fit on `what` (e.g. 'validation'). */
export function calibrationLine(fit: CalibrationFit, what: string): string {
  const bound = fit.atBound ? ' (at its bound)' : '';
  // The fit aims at Platt's smoothed targets, not at 0 and 1: on few or well-separated images the labels' own NLL can rise.
  const why = fit.nll.after > fit.nll.before ? '; higher: fitted to smoothed targets, (N+1)/(N+2), which few images cannot push to 0 and 1' : '';
  return `calibration          ${describeCalibration(fit.config)}${bound} (stored in model.safetensors): ${what} NLL ${fixed(fit.nll.before, 4)} -> ${fixed(fit.nll.after, 4)} (${count(fit.samples)} images${why})`;
}

/** summary.json's record of a fit. */
export function calibrationSummary(fit: CalibrationFit) {
  return { ...fit.config, samples: fit.samples, nll: fit.nll, atBound: fit.atBound };
}
