/** Loss functions by Keras name; the executor fuses them with a final Softmax/Sigmoid. */
import { ConfigError } from '../errors.js';

export type LossName = 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'binaryCrossentropy';

export interface LossConfig {
  name: LossName;
  /** Keras semantics: targets become `y·(1 - s) + s/classes`. Default 0. */
  labelSmoothing: number;
}

export type LossArg = LossName | { name: LossName; labelSmoothing?: number };

const names: readonly LossName[] = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy'];

export function resolveLoss(arg: LossArg): LossConfig {
  const name = typeof arg === 'string' ? arg : arg.name;
  if (!names.includes(name)) throw new ConfigError(`compile: unknown loss '${String(name)}', expected one of ${names.join(', ')}`);
  const labelSmoothing = typeof arg === 'string' ? 0 : (arg.labelSmoothing ?? 0);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new ConfigError(`compile: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  return { name, labelSmoothing };
}

/** Whether targets are class indices (sparse) or rows of probabilities (dense). */
export function targetsAreDense(loss: LossConfig): boolean {
  return loss.name === 'categoricalCrossentropy';
}
