/** MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D. */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { Layer, normalizeInputShape, type BaseLayerArgs, type BaseLayerConfig } from './layer.js';
import { ConfigError } from '../errors.js';
import { checkPadding, pair, windowFields, windowOutSize, type Padding, type PaddingArg, type Shape3 } from './shape.js';

export interface Pooling2DArgs extends BaseLayerArgs {
  /** Window: a number or `[h, w]`. Default 2. */
  poolSize?: number | readonly [number, number];
  /** Default: the pool size. */
  strides?: number | readonly [number, number];
  /** 'valid' (default), 'same', or explicit pads (PyTorch's `padding=1` is `1`); max pooling pads with -inf. */
  padding?: PaddingArg;
  /** PyTorch's `ceil_mode`: round the output size up (a last partial window). Default false. */
  ceilMode?: boolean;
  /** Average pooling: count padded cells in the divisor (PyTorch's default for explicit pads). Default false (Keras). */
  countIncludePad?: boolean;
}

export interface Pooling2DConfig extends BaseLayerConfig {
  kind: 'MaxPooling2D' | 'AveragePooling2D';
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
  ceilMode: boolean;
  countIncludePad: boolean;
}

function flag(v: unknown, what: string, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`${where}: ${what} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

abstract class Pooling2D extends Layer<Pooling2DConfig> {
  protected constructor(kind: Pooling2DConfig['kind'], args: Pooling2DArgs) {
    const where = `${kind}${args.name ? ` '${args.name}'` : ''}`;
    const padding = checkPadding(args.padding, where);
    const poolSize = pair(args.poolSize ?? 2, 'poolSize', where);
    const strides = pair(args.strides ?? poolSize, 'strides', where);
    const ceilMode = flag(args.ceilMode, 'ceilMode', where);
    const countIncludePad = flag(args.countIncludePad, 'countIncludePad', where);
    super({ kind, name: args.name ?? '', inputShape: normalizeInputShape(args.inputShape, where), poolSize, strides, padding, ceilMode, countIncludePad });
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    const [ph, pw] = this.cfg.poolSize;
    const h = windowOutSize(input[0], ph, this.cfg.strides[0], this.cfg.padding, 'h', this.cfg.ceilMode);
    const w = windowOutSize(input[1], pw, this.cfg.strides[1], this.cfg.padding, 'w', this.cfg.ceilMode);
    if (h < 1 || w < 1) throw this.shapeError(index, `[batch, h, w, c] with h >= ${ph} and w >= ${pw}`, input);
    return [h, w, input[2]];
  }

  steps(): StepDescription[] {
    const c = this.cfg;
    return [
      {
        kind: c.kind === 'MaxPooling2D' ? StepKind.MAX_POOL : StepKind.AVG_POOL,
        ...windowFields({ size: c.poolSize, strides: c.strides, padding: c.padding }),
        ceilMode: c.ceilMode ? 1 : 0,
        countIncludePad: c.countIncludePad ? 1 : 0,
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
  // Files written before ceilMode/countIncludePad existed lack them: both were off.
  const args: Pooling2DArgs = {
    name: c.name,
    poolSize: c.poolSize,
    strides: c.strides,
    padding: c.padding,
    ceilMode: c.ceilMode ?? false,
    countIncludePad: c.countIncludePad ?? false,
    ...(c.inputShape ? { inputShape: c.inputShape } : {}),
  };
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

  steps(): StepDescription[] {
    return [{ kind: StepKind.GLOBAL_AVG_POOL }];
  }
}
