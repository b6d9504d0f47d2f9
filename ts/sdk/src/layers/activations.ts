/** Activation functions by name, and the executor step each one becomes. */
import { LayerKind } from '../exec/abi.js';
import type { LayerDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';

export type ActivationName = 'linear' | 'relu' | 'leakyRelu' | 'sigmoid' | 'softmax';

const names: readonly ActivationName[] = ['linear', 'relu', 'leakyRelu', 'sigmoid', 'softmax'];

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
export function activationSteps(name: ActivationName, alpha = DEFAULT_LEAKY_ALPHA): LayerDescription[] {
  switch (name) {
    case 'linear':
      return [];
    case 'relu':
      return [{ kind: LayerKind.ReLU }];
    case 'leakyRelu':
      return [{ kind: LayerKind.LeakyReLU, alpha }];
    case 'sigmoid':
      return [{ kind: LayerKind.Sigmoid }];
    case 'softmax':
      return [{ kind: LayerKind.Softmax }];
  }
}

export function isReluLike(name: ActivationName): boolean {
  return name === 'relu' || name === 'leakyRelu';
}
