import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig, type ParamSpec } from './layer.js';
import type { Shape3 } from './shape.js';

export interface BatchNormalizationArgs extends BaseLayerArgs {
  /** Moving statistics: `moving = moving·momentum + batch·(1 - momentum)`. Default 0.99 (Keras). */
  momentum?: number;
  /** Default 1e-3 (Keras). */
  epsilon?: number;
}

export interface BatchNormalizationConfig extends BaseLayerConfig {
  kind: 'BatchNormalization';
  momentum: number;
  epsilon: number;
}

/**
 * Normalizes each channel over batch·height·width: batch statistics while
 * training, moving statistics at inference (both with the biased variance,
 * as Keras 3 does).
 */
export class BatchNormalization extends Layer<BatchNormalizationConfig> {
  constructor(args: BatchNormalizationArgs = {}) {
    const where = `BatchNormalization${args.name ? ` '${args.name}'` : ''}`;
    const momentum = args.momentum ?? 0.99;
    const epsilon = args.epsilon ?? 1e-3;
    if (!(momentum >= 0 && momentum <= 1)) throw new ConfigError(`${where}: momentum must be in [0, 1], got ${momentum}`);
    if (!(epsilon > 0 && Number.isFinite(epsilon))) throw new ConfigError(`${where}: epsilon must be finite and > 0, got ${epsilon}`);
    super({ kind: 'BatchNormalization', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, where), momentum, epsilon });
  }

  static fromConfig(c: BatchNormalizationConfig): BatchNormalization {
    return new BatchNormalization({ name: c.name, momentum: c.momentum, epsilon: c.epsilon, ...(c.inputShape ? { inputShape: c.inputShape } : {}) });
  }

  computeOutputShape(input: Shape3): Shape3 {
    return input;
  }

  override paramSpecs(input: Shape3): ParamSpec[] {
    const c = input[2];
    const spec = (role: ParamSpec['role'], trainable: boolean, kind: 'zeros' | 'ones'): ParamSpec => ({ role, shape: [c], trainable, initializer: { kind }, fanIn: c, fanOut: c });
    return [spec('gamma', true, 'ones'), spec('beta', true, 'zeros'), spec('movingMean', false, 'zeros'), spec('movingVariance', false, 'ones')];
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.BATCH_NORM, momentum: this.cfg.momentum, epsilon: this.cfg.epsilon }];
  }
}
