/** Activation functions by name, and the executor step each one becomes. */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';

export type ActivationName = 'linear' | 'relu' | 'relu6' | 'leakyRelu' | 'sigmoid' | 'softmax';

const names: readonly ActivationName[] = ['linear', 'relu', 'relu6', 'leakyRelu', 'sigmoid', 'softmax'];

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
    case 'softmax':
      return [{ kind: StepKind.SOFTMAX }];
  }
}

export function isReluLike(name: ActivationName): boolean {
  return name === 'relu' || name === 'relu6' || name === 'leakyRelu';
}
