import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError } from '../errors.js';
import { KernelLayer, kernelArgsFromConfig, kernelLayerFields, type KernelLayerArgs, type KernelLayerConfig } from './kernel-layer.js';
import { normalizeInputShape } from './layer.js';
import { checkPadding, pair, windowFields, type Padding, type PaddingArg, type Shape3 } from './shape.js';

export interface DepthwiseConv2DArgs extends KernelLayerArgs {
  /** Kernel height and width: a number or `[h, w]`. */
  kernelSize: number | readonly [number, number];
  /** Default 1. */
  strides?: number | readonly [number, number];
  /** 'valid' (default), 'same' (Keras) or explicit pads (PyTorch's `padding=1` is `1`). */
  padding?: PaddingArg;
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
}

export interface DepthwiseConv2DConfig extends KernelLayerConfig {
  kind: 'DepthwiseConv2D';
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
  depthMultiplier: number;
}

/**
 * Depthwise 2-D convolution (MobileNet): each input channel is convolved with
 * its own `depthMultiplier` filters; kernel layout `[kh, kw, cIn,
 * depthMultiplier]` (Keras'), output channel `c·depthMultiplier + m`.
 * PyTorch's `Conv2d(groups=in_channels)` is this layer.
 */
export class DepthwiseConv2D extends KernelLayer<DepthwiseConv2DConfig> {
  constructor(args: DepthwiseConv2DArgs) {
    const where = `DepthwiseConv2D${args.name ? ` '${args.name}'` : ''}`;
    const depthMultiplier = args.depthMultiplier ?? 1;
    if (!Number.isInteger(depthMultiplier) || depthMultiplier < 1) throw new ConfigError(`${where}: depthMultiplier must be a positive integer, got ${depthMultiplier}`);
    super({
      kind: 'DepthwiseConv2D',
      name: args.name ?? '',
      inputShape: normalizeInputShape(args.inputShape, where),
      kernelSize: pair(args.kernelSize, 'kernelSize', where),
      strides: pair(args.strides ?? 1, 'strides', where),
      padding: checkPadding(args.padding, where),
      depthMultiplier,
      ...kernelLayerFields(args, where),
    });
  }

  static fromConfig(c: DepthwiseConv2DConfig): DepthwiseConv2D {
    return new DepthwiseConv2D({ kernelSize: c.kernelSize, strides: c.strides, padding: c.padding, depthMultiplier: c.depthMultiplier, ...kernelArgsFromConfig(c) });
  }

  protected outputChannels(input: Shape3): number {
    return input[2] * this.cfg.depthMultiplier;
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    return this.windowOutputShape(input, index, this.cfg);
  }

  /** Keras' fans for a `[kh, kw, cIn, multiplier]` kernel. */
  protected kernel(input: Shape3) {
    const [kh, kw] = this.cfg.kernelSize;
    const m = this.cfg.depthMultiplier;
    return { shape: [kh, kw, input[2], m], fanIn: kh * kw * input[2], fanOut: kh * kw * m };
  }

  protected mainStep(): StepDescription {
    const c = this.cfg;
    return { kind: StepKind.DEPTHWISE_CONV2D, units: c.depthMultiplier, ...windowFields({ size: c.kernelSize, strides: c.strides, padding: c.padding }), ...this.kernelStepFields() };
  }
}
