import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig } from './layer.js';
import { checkPadding, type ExplicitPadding, type Shape3 } from './shape.js';

export interface ZeroPadding2DArgs extends BaseLayerArgs {
  /** Rows and columns of zeros: a number, `[h, w]`, `[[top, bottom], [left, right]]` (Keras) or `{ top, bottom, left, right }`. Default 1. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]] | ExplicitPadding;
}

export interface ZeroPadding2DConfig extends BaseLayerConfig {
  kind: 'ZeroPadding2D';
  padding: ExplicitPadding;
}

/** Zeros around the plane (ResNet's stem in Keras, asymmetric pads from ONNX files). */
export class ZeroPadding2D extends Layer<ZeroPadding2DConfig> {
  constructor(args: ZeroPadding2DArgs = {}) {
    const where = `ZeroPadding2D${args.name ? ` '${args.name}'` : ''}`;
    const padding = checkPadding(args.padding ?? 1, where);
    if (typeof padding === 'string') throw new ConfigError(`${where}: padding must be numbers of rows and columns, got '${padding}'`);
    super({ kind: 'ZeroPadding2D', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, where), padding });
  }

  static fromConfig(c: ZeroPadding2DConfig): ZeroPadding2D {
    return new ZeroPadding2D({ name: c.name, padding: c.padding, ...(c.inputShape ? { inputShape: c.inputShape } : {}) });
  }

  computeOutputShape(input: Shape3): Shape3 {
    const p = this.cfg.padding;
    return [input[0] + p.top + p.bottom, input[1] + p.left + p.right, input[2]];
  }

  steps(): StepDescription[] {
    const p = this.cfg.padding;
    return [{ kind: StepKind.ZERO_PAD, padTop: p.top, padBottom: p.bottom, padLeft: p.left, padRight: p.right }];
  }
}
