import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { KernelLayer, kernelArgsFromConfig, kernelLayerFields, type KernelLayerArgs, type KernelLayerConfig } from './kernel-layer.js';
import { normalizeInputShape } from './layer.js';
import { checkPadding, pair, windowFields, type Padding, type PaddingArg, type Shape3 } from './shape.js';

export interface Conv2DArgs extends KernelLayerArgs {
  /** Number of output channels. */
  filters: number;
  /** Kernel height and width: a number or `[h, w]`. */
  kernelSize: number | readonly [number, number];
  /** Default 1. */
  strides?: number | readonly [number, number];
  /** 'valid' (default), 'same' (Keras semantics: output = ceil(input / stride)) or explicit pads (PyTorch's `padding=1` is `1`). */
  padding?: PaddingArg;
}

export interface Conv2DConfig extends KernelLayerConfig {
  kind: 'Conv2D';
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

/** 2-D convolution over NHWC inputs; kernel layout `[kh, kw, cIn, filters]` (Keras'). */
export class Conv2D extends KernelLayer<Conv2DConfig> {
  constructor(args: Conv2DArgs) {
    const where = `Conv2D${args.name ? ` '${args.name}'` : ''}`;
    if (!Number.isInteger(args.filters) || args.filters < 1) throw new ConfigError(`${where}: filters must be a positive integer, got ${args.filters}`);
    const padding = checkPadding(args.padding, where);
    const kernelSize = pair(args.kernelSize, 'kernelSize', where);
    const strides = pair(args.strides ?? 1, 'strides', where);
    super({
      kind: 'Conv2D',
      name: args.name ?? '',
      inputShape: normalizeInputShape(args.inputShape, where),
      filters: args.filters,
      kernelSize,
      strides,
      padding,
      ...kernelLayerFields(args, where),
    });
  }

  /** Rebuilds a layer from a stored config, validating every field like the constructor. */
  static fromConfig(c: Conv2DConfig): Conv2D {
    return new Conv2D({ filters: c.filters, kernelSize: c.kernelSize, strides: c.strides, padding: c.padding, ...kernelArgsFromConfig(c) });
  }

  protected outputChannels(): number {
    return this.cfg.filters;
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    return this.windowOutputShape(input, index, this.cfg);
  }

  protected kernel(input: Shape3) {
    const [kh, kw] = this.cfg.kernelSize;
    return { shape: [kh, kw, input[2], this.cfg.filters], fanIn: kh * kw * input[2], fanOut: kh * kw * this.cfg.filters };
  }

  protected mainStep(): StepDescription {
    const c = this.cfg;
    return { kind: StepKind.CONV2D, units: c.filters, ...windowFields({ size: c.kernelSize, strides: c.strides, padding: c.padding }), ...this.kernelStepFields() };
  }
}
