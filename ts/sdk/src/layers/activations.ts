/** Activation functions by name, and the executor step each one becomes. */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';

/**
 * 'swish' is `x · sigmoid(x)` (SiLU); 'hardSigmoid' and 'hardSwish' are
 * PyTorch's and Keras 3's `relu6(x + 3) / 6` and `x · relu6(x + 3) / 6`
 * (Keras 2 and TF.js used `0.2x + 0.5` for their hard sigmoid).
 */
export type ActivationName = 'linear' | 'relu' | 'relu6' | 'leakyRelu' | 'sigmoid' | 'tanh' | 'swish' | 'hardSigmoid' | 'hardSwish' | 'softmax';

const names: readonly ActivationName[] = ['linear', 'relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh', 'swish', 'hardSigmoid', 'hardSwish', 'softmax'];

/** Keras' default negative slope for LeakyReLU. */
export const DEFAULT_LEAKY_ALPHA = 0.3;

export function resolveActivation(value: string | undefined, where: string): ActivationName {
  if (value === undefined) return 'linear';
  if (!(names as readonly string[]).includes(value)) {
    throw new ConfigError(`${where}: unknown activation '${value}', expected one of ${names.join(', ')}`);
  }
  return value as ActivationName;
}

/** The executor step for an activation (none for 'linear'). */
export function activationSteps(name: ActivationName, alpha = DEFAULT_LEAKY_ALPHA, maxValue: number | null = null): StepDescription[] {
  switch (name) {
    case 'linear':
      return [];
    case 'relu':
      return [maxValue === null ? { kind: StepKind.RELU } : { kind: StepKind.BOUNDED_RELU, maxValue }];
    case 'relu6':
      return [{ kind: StepKind.BOUNDED_RELU, maxValue: 6 }];
    case 'leakyRelu':
      return [{ kind: StepKind.LEAKY_RELU, alpha }];
    case 'sigmoid':
      return [{ kind: StepKind.SIGMOID }];
    case 'tanh':
      return [{ kind: StepKind.TANH }];
    case 'swish':
      return [{ kind: StepKind.SWISH }];
    case 'hardSigmoid':
      return [{ kind: StepKind.HARD_SIGMOID }];
    case 'hardSwish':
      return [{ kind: StepKind.HARD_SWISH }];
    case 'softmax':
      return [{ kind: StepKind.SOFTMAX }];
  }
}

export function isReluLike(name: ActivationName): boolean {
  return name === 'relu' || name === 'relu6' || name === 'leakyRelu';
}
