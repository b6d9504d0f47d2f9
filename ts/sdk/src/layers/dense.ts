import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { KernelLayer, kernelArgsFromConfig, kernelLayerFields, type KernelLayerArgs, type KernelLayerConfig } from './kernel-layer.js';
import { normalizeInputShape } from './layer.js';
import type { Shape3 } from './shape.js';

export interface DenseArgs extends KernelLayerArgs {
  /** Number of outputs. */
  units: number;
}

export interface DenseConfig extends KernelLayerConfig {
  kind: 'Dense';
  units: number;
}

/** Fully connected layer over a flat input; kernel layout `[inputs, units]` (Keras'). */
export class Dense extends KernelLayer<DenseConfig> {
  constructor(args: DenseArgs) {
    const where = `Dense${args.name ? ` '${args.name}'` : ''}`;
    if (!Number.isInteger(args.units) || args.units < 1) throw new ConfigError(`${where}: units must be a positive integer, got ${args.units}`);
    super({ kind: 'Dense', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, where), units: args.units, ...kernelLayerFields(args, where) });
  }

  /** Rebuilds a layer from a stored config, validating every field like the constructor. */
  static fromConfig(c: DenseConfig): Dense {
    return new Dense({ units: c.units, ...kernelArgsFromConfig(c) });
  }

  protected outputChannels(): number {
    return this.cfg.units;
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    if (input[0] !== 1 || input[1] !== 1) throw this.shapeError(index, '[batch, features] (add a Flatten layer before Dense)', input);
    return [1, 1, this.cfg.units];
  }

  protected kernel(input: Shape3) {
    return { shape: [input[2], this.cfg.units], fanIn: input[2], fanOut: this.cfg.units };
  }

  protected mainStep(): StepDescription {
    const c = this.cfg;
    return { kind: StepKind.DENSE, units: c.units, ...this.kernelStepFields() };
  }
}
