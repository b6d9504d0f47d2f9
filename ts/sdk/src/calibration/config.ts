/**
 * Probability calibration stored with a model (`metadata.calibration`): a
 * map from the network's output probabilities to calibrated ones, fitted on
 * held-out predictions (calibration/fit.ts) and applied by `Model.predict`.
 *
 * - `temperature` (Guo et al. 2017): every row's log-probabilities divided by
 *   `temperature` and renormalized, `softmax(log p / T)`, i.e. the logits
 *   divided by T. One parameter for any number of classes; it never changes
 *   the arg-max, only how confident the probabilities are (T > 1 softens
 *   them, T < 1 sharpens them).
 * - `platt` (Platt 1999), binary models: class 1's probability becomes
 *   `sigmoid(slope * s + intercept)` with `s = log(p1 / p0)` the logit of the
 *   network's output. Two parameters: besides the confidence it moves the
 *   point where the classes' probabilities are equal (the 0.5 decision).
 */
export type CalibrationConfig =
  | { kind: 'temperature'; temperature: number }
  | { kind: 'platt'; slope: number; intercept: number };

export type CalibrationKind = CalibrationConfig['kind'];
export const CALIBRATION_KINDS: readonly CalibrationKind[] = ['temperature', 'platt'];

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Validates a calibration config; `bad` makes the error (metadata: ModelFormatError). */
export function checkCalibration(c: unknown, bad: (what: string) => Error): CalibrationConfig {
  const k = c as Partial<{ kind: unknown; temperature: unknown; slope: unknown; intercept: unknown }> | null;
  if (typeof k !== 'object' || k === null || !CALIBRATION_KINDS.includes(k.kind as CalibrationKind)) {
    throw bad(`calibration.kind must be one of ${CALIBRATION_KINDS.join(', ')}, got ${JSON.stringify(k?.kind ?? k)}`);
  }
  if (k.kind === 'temperature') {
    if (!(finite(k.temperature) && k.temperature > 0)) throw bad(`calibration (temperature): temperature must be a finite number > 0, got ${JSON.stringify(k.temperature)}`);
  } else if (!finite(k.slope) || !finite(k.intercept)) {
    throw bad(`calibration (platt): slope and intercept must be finite numbers, got ${JSON.stringify({ slope: k.slope, intercept: k.intercept })}`);
  }
  return k as CalibrationConfig;
}

/** Platt scaling is binary: a model with 2 softmax outputs or 1 sigmoid unit. */
export function calibrationFitsOutputs(c: CalibrationConfig, outputs: number): boolean {
  return c.kind === 'temperature' || outputs <= 2;
}
