/** MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D. */
import { LayerKind } from '../exec/abi.js';
import type { LayerDescription } from '../exec/compiled-model.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig } from './layer.js';
import { checkPadding, pair, windowOutSize, type Padding, type Shape3 } from './shape.js';

export interface Pooling2DArgs extends BaseLayerArgs {
  /** Window: a number or `[h, w]`. Default 2. */
  poolSize?: number | readonly [number, number];
  /** Default: the pool size. */
  strides?: number | readonly [number, number];
  /** 'valid' (default) or 'same'. */
  padding?: Padding;
}

export interface Pooling2DConfig extends BaseLayerConfig {
  kind: 'MaxPooling2D' | 'AveragePooling2D';
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

abstract class Pooling2D extends Layer<Pooling2DConfig> {
  protected constructor(kind: Pooling2DConfig['kind'], args: Pooling2DArgs) {
    const where = `${kind}${args.name ? ` '${args.name}'` : ''}`;
    const padding = checkPadding(args.padding, where);
    const poolSize = pair(args.poolSize ?? 2, 'poolSize', where);
    const strides = pair(args.strides ?? poolSize, 'strides', where);
    super({ kind, name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, where), poolSize, strides, padding });
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    const [ph, pw] = this.cfg.poolSize;
    const h = windowOutSize(input[0], ph, this.cfg.strides[0], this.cfg.padding);
    const w = windowOutSize(input[1], pw, this.cfg.strides[1], this.cfg.padding);
    if (h < 1 || w < 1) throw this.shapeError(index, `[batch, h, w, c] with h >= ${ph} and w >= ${pw}`, input);
    return [h, w, input[2]];
  }

  steps(): LayerDescription[] {
    const c = this.cfg;
    return [
      {
        kind: c.kind === 'MaxPooling2D' ? LayerKind.MaxPooling2D : LayerKind.AveragePooling2D,
        sizeH: c.poolSize[0],
        sizeW: c.poolSize[1],
        strideH: c.strides[0],
        strideW: c.strides[1],
        padding: c.padding === 'same' ? 1 : 0,
      },
    ];
  }
}

/** Maximum over each window; the gradient goes to the first maximum. */
export class MaxPooling2D extends Pooling2D {
  constructor(args: Pooling2DArgs = {}) {
    super('MaxPooling2D', args);
  }
}

/** Mean over each window (padded cells excluded from the count, like Keras). */
export class AveragePooling2D extends Pooling2D {
  constructor(args: Pooling2DArgs = {}) {
    super('AveragePooling2D', args);
  }
}

export function poolingFromConfig(c: Pooling2DConfig): Pooling2D {
  const args: Pooling2DArgs = { name: c.name, poolSize: c.poolSize, strides: c.strides, padding: c.padding, ...(c.inputShape ? { inputShape: c.inputShape } : {}) };
  return c.kind === 'MaxPooling2D' ? new MaxPooling2D(args) : new AveragePooling2D(args);
}

export interface GlobalAveragePooling2DConfig extends BaseLayerConfig {
  kind: 'GlobalAveragePooling2D';
}

/** Mean over height and width: `[batch, h, w, c]` → `[batch, c]`. */
export class GlobalAveragePooling2D extends Layer<GlobalAveragePooling2DConfig> {
  constructor(args: BaseLayerArgs = {}) {
    super({ kind: 'GlobalAveragePooling2D', name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, 'GlobalAveragePooling2D') });
  }

  computeOutputShape(input: Shape3): Shape3 {
    return [1, 1, input[2]];
  }

  steps(): LayerDescription[] {
    return [{ kind: LayerKind.GlobalAveragePooling2D }];
  }
}
