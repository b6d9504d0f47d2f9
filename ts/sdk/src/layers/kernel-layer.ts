/**
 * What Conv2D and Dense share: a kernel and an optional bias, an optional
 * fused activation, initializers and a kernel regularizer.
 */
import { ConfigError } from '../errors.js';
import { activationSteps, isReluLike, resolveActivation, type ActivationName } from './activations.js';
import { resolveInitializer, type Initializer, type InitializerArg } from './initializers.js';
import { Layer, type BaseLayerArgs, type BaseLayerConfig, type ParamSpec } from './layer.js';
import { checkRegularizer, type L2Regularizer } from './regularizers.js';
import { formatPadding, windowOutSize, type Padding, type Shape3 } from './shape.js';
import type { StepDescription } from '../exec/compiled-model.js';

export interface KernelLayerArgs extends BaseLayerArgs {
  /** Applied after the layer: 'relu', 'sigmoid', 'softmax', ... (default: none). */
  activation?: ActivationName;
  /** Default true. */
  useBias?: boolean;
  /** Default: 'heNormal' when a ReLU follows, else 'glorotUniform' (chosen when the model is built). */
  kernelInitializer?: InitializerArg;
  /** Default 'zeros'. */
  biasInitializer?: InitializerArg;
  /** e.g. `l2(0.1)`: adds a penalty on this layer's kernel to the loss. */
  kernelRegularizer?: L2Regularizer;
}

export interface KernelLayerConfig extends BaseLayerConfig {
  activation: ActivationName;
  useBias: boolean;
  /** `null` until the model is built and picks the default. */
  kernelInitializer: Initializer | null;
  biasInitializer: Initializer;
  kernelRegularizer: L2Regularizer | null;
}

export function kernelLayerFields(args: KernelLayerArgs, where: string): Omit<KernelLayerConfig, 'kind' | 'name' | 'inputShape'> {
  if (args.useBias !== undefined && typeof args.useBias !== 'boolean') throw new ConfigError(`${where}: useBias must be a boolean, got ${String(args.useBias)}`);
  return {
    activation: resolveActivation(args.activation, where),
    useBias: args.useBias ?? true,
    kernelInitializer: args.kernelInitializer === undefined ? null : resolveInitializer(args.kernelInitializer, where),
    biasInitializer: resolveInitializer(args.biasInitializer ?? 'zeros', where),
    kernelRegularizer: args.kernelRegularizer ? checkRegularizer(args.kernelRegularizer) : null,
  };
}

/** Constructor args that reproduce a stored config (so loading validates like building). */
export function kernelArgsFromConfig(c: KernelLayerConfig): KernelLayerArgs {
  return {
    name: c.name,
    ...(c.inputShape ? { inputShape: c.inputShape } : {}),
    activation: c.activation,
    useBias: c.useBias,
    ...(c.kernelInitializer ? { kernelInitializer: c.kernelInitializer } : {}),
    biasInitializer: c.biasInitializer,
    ...(c.kernelRegularizer ? { kernelRegularizer: checkRegularizer(c.kernelRegularizer) } : {}),
  };
}

export abstract class KernelLayer<C extends KernelLayerConfig> extends Layer<C> {
  /** Kernel shape and fans for an input shape. */
  protected abstract kernel(input: Shape3): { shape: number[]; fanIn: number; fanOut: number };

  /** Output channels (filters, units, or input channels × depth multiplier) for an input shape. */
  protected abstract outputChannels(input: Shape3): number;

  /** The layer's own computation step, before its activation. */
  protected abstract mainStep(input: Shape3): StepDescription;

  /**
   * The output shape of a sliding-window layer (Conv2D, DepthwiseConv2D),
   * checking that the kernel fits the padded input and that the activation
   * can apply to a spatial output.
   */
  protected windowOutputShape(input: Shape3, index: number, w: { kernelSize: readonly [number, number]; strides: readonly [number, number]; padding: Padding }): Shape3 {
    const [kh, kw] = w.kernelSize;
    const h = windowOutSize(input[0], kh, w.strides[0], w.padding, 'h');
    const width = windowOutSize(input[1], kw, w.strides[1], w.padding, 'w');
    if (h < 1 || width < 1) {
      throw this.shapeError(index, `[batch, h, w, c] with h >= ${kh} and w >= ${kw} for a ${kh}x${kw} '${formatPadding(w.padding)}' kernel`, input);
    }
    if (this.cfg.activation === 'softmax') throw new ConfigError(`${this.describe(index)}: softmax activation needs a flat output; add Flatten and Dense`);
    return [h, width, this.outputChannels(input)];
  }

  /** The step fields every kernel layer sets: bias and whether the kernel carries the L2 penalty. */
  protected kernelStepFields(): { useBias: number; regularize: number } {
    const c = this.cfg;
    return { useBias: c.useBias ? 1 : 0, regularize: c.kernelRegularizer && c.kernelRegularizer.lambda > 0 ? 1 : 0 };
  }

  override get endsWithRelu(): boolean {
    return isReluLike(this.cfg.activation);
  }

  get regularizer(): L2Regularizer | null {
    return this.cfg.kernelRegularizer;
  }

  /** @internal picks the default kernel initializer once the model knows what follows. */
  resolveDefaultInitializer(reluFollows: boolean): void {
    if (this.cfg.kernelInitializer === null) {
      this.cfg.kernelInitializer = { kind: reluFollows || this.endsWithRelu ? 'heNormal' : 'glorotUniform' };
    }
  }

  override paramSpecs(input: Shape3): ParamSpec[] {
    const k = this.kernel(input);
    const specs: ParamSpec[] = [
      { role: 'kernel', shape: k.shape, trainable: true, initializer: this.cfg.kernelInitializer ?? { kind: 'glorotUniform' }, fanIn: k.fanIn, fanOut: k.fanOut },
    ];
    if (this.cfg.useBias) {
      specs.push({ role: 'bias', shape: [this.outputChannels(input)], trainable: true, initializer: this.cfg.biasInitializer, fanIn: k.fanIn, fanOut: k.fanOut });
    }
    return specs;
  }

  steps(input: Shape3): StepDescription[] {
    return [this.mainStep(input), ...activationSteps(this.cfg.activation)];
  }
}
