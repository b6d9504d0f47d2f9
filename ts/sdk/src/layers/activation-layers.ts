/** Layers that only apply an activation: ReLU, LeakyReLU, Softmax and Activation(name). */
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { activationSteps, DEFAULT_LEAKY_ALPHA, isReluLike, resolveActivation, type ActivationName } from './activations.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig } from './layer.js';
import type { Shape3 } from './shape.js';

export interface ActivationConfig extends BaseLayerConfig {
  kind: 'Activation' | 'ReLU' | 'LeakyReLU' | 'Softmax';
  activation: ActivationName;
  /** LeakyReLU negative slope. */
  alpha: number;
  /** ReLU ceiling (`ReLU({ maxValue: 6 })` is ReLU6), or null for none. */
  maxValue?: number | null;
}

abstract class ActivationLayerBase extends Layer<ActivationConfig> {
  computeOutputShape(input: Shape3, index: number): Shape3 {
    if (this.cfg.activation === 'softmax' && (input[0] !== 1 || input[1] !== 1)) {
      throw this.shapeError(index, '[batch, classes] for softmax (add Flatten first)', input);
    }
    return input;
  }

  steps(): StepDescription[] {
    return activationSteps(this.cfg.activation, this.cfg.alpha, this.cfg.maxValue ?? null);
  }

  override get endsWithRelu(): boolean {
    return isReluLike(this.cfg.activation);
  }
}

function base(kind: ActivationConfig['kind'], activation: ActivationName, args: BaseLayerArgs, alpha = DEFAULT_LEAKY_ALPHA): ActivationConfig {
  return { kind, name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, kind), activation, alpha };
}

export interface ReLUArgs extends BaseLayerArgs {
  /** Upper bound of the output (Keras' `max_value`; 6 for MobileNet's ReLU6). Default: none. */
  maxValue?: number | null;
}

/** `max(x, 0)`, optionally capped at `maxValue`. */
export class ReLU extends ActivationLayerBase {
  constructor(args: ReLUArgs = {}) {
    const maxValue = args.maxValue ?? null;
    if (maxValue !== null && !(Number.isFinite(maxValue) && maxValue > 0)) {
      throw new ConfigError(`ReLU${args.name ? ` '${args.name}'` : ''}: maxValue must be a finite number > 0, got ${maxValue}`);
    }
    super({ ...base('ReLU', 'relu', args), ...(maxValue !== null ? { maxValue } : {}) });
  }
}

export interface LeakyReLUArgs extends BaseLayerArgs {
  /** Slope for x < 0. Default 0.3 (Keras). */
  alpha?: number;
}

export class LeakyReLU extends ActivationLayerBase {
  constructor(args: LeakyReLUArgs = {}) {
    const alpha = args.alpha ?? DEFAULT_LEAKY_ALPHA;
    if (!Number.isFinite(alpha)) throw new ConfigError(`LeakyReLU: alpha must be finite, got ${alpha}`);
    super(base('LeakyReLU', 'leakyRelu', args, alpha));
  }
}

export class Softmax extends ActivationLayerBase {
  constructor(args: BaseLayerArgs = {}) {
    super(base('Softmax', 'softmax', args));
  }
}

export interface ActivationArgs extends BaseLayerArgs {
  activation: ActivationName;
}

export class Activation extends ActivationLayerBase {
  constructor(args: ActivationArgs) {
    super(base('Activation', resolveActivation(args.activation, 'Activation'), args));
  }
}

export function activationLayerFromConfig(c: ActivationConfig): Layer<ActivationConfig> {
  const common = { name: c.name, ...(c.inputShape ? { inputShape: c.inputShape } : {}) };
  switch (c.kind) {
    case 'ReLU':
      return new ReLU({ ...common, maxValue: c.maxValue ?? null });
    case 'LeakyReLU':
      return new LeakyReLU({ ...common, alpha: c.alpha });
    case 'Softmax':
      return new Softmax(common);
    case 'Activation':
      return new Activation({ ...common, activation: c.activation });
  }
}
