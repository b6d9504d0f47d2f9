/** Flatten and Dropout: layers without parameters that keep or reshape data. */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig } from './layer.js';
import { shapeSize, type Shape3 } from './shape.js';

export interface FlattenConfig extends BaseLayerConfig {
  kind: 'Flatten';
}

/** `[batch, h, w, c]` → `[batch, h·w·c]` in NHWC order (no data moves). */
export class Flatten extends Layer<FlattenConfig> {
  constructor(args: BaseLayerArgs = {}) {
    super({ kind: 'Flatten', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, 'Flatten') });
  }

  computeOutputShape(input: Shape3): Shape3 {
    return [1, 1, shapeSize(input)];
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.FLATTEN }];
  }
}

export interface DropoutArgs extends BaseLayerArgs {
  /** Fraction of inputs set to zero while training, in [0, 1). */
  rate: number;
}

export interface DropoutConfig extends BaseLayerConfig {
  kind: 'Dropout';
  rate: number;
}

/** Inverted dropout while training (masks from the model's seeded generator); identity at inference. */
export class Dropout extends Layer<DropoutConfig> {
  constructor(args: DropoutArgs) {
    if (!(args.rate >= 0 && args.rate < 1)) throw new ConfigError(`Dropout${args.name ? ` '${args.name}'` : ''}: rate must be in [0, 1), got ${args.rate}`);
    super({ kind: 'Dropout', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, 'Dropout'), rate: args.rate });
  }

  computeOutputShape(input: Shape3): Shape3 {
    return input;
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.DROPOUT, rate: this.cfg.rate }];
  }
}
