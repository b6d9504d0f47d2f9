/**
 * Activations, as layers (ReLU, LeakyReLU, Softmax, Activation) and fused
 * into Conv2D, DepthwiseConv2D and Dense: Relu, Clip (ReLU with a ceiling,
 * ReLU6), LeakyRelu, Sigmoid, Tanh, Sigmoid and Mul (swish, as PyTorch
 * exports SiLU), HardSigmoid (alpha 1/6, beta 1/2), HardSwish, Softmax over
 * the features.
 */
import type { ActivationConfig } from '../../../../layers/activation-layers.js';
import { DEFAULT_LEAKY_ALPHA, type ActivationName } from '../../../../layers/activations.js';
import type { LayerContext, LayerExporter } from '../layer-context.js';
import type { OnnxValue } from '../values.js';

/** `value` through `activation`, in the layout it came in (Softmax: flat features). */
export function applyActivation(ctx: LayerContext, value: OnnxValue, activation: ActivationName, alpha = DEFAULT_LEAKY_ALPHA, maxValue: number | null = null): OnnxValue {
  const keep = (op: string, extra: string[] = [], attributes?: Record<string, { float: number }>) =>
    ctx.output(ctx.node(op, [value.as(value.layout), ...extra], attributes), value.layout);
  switch (activation) {
    case 'linear':
      return value;
    case 'relu':
      return maxValue === null ? keep('Relu') : clip(ctx, keep, maxValue);
    case 'relu6':
      return clip(ctx, keep, 6);
    case 'leakyRelu':
      return keep('LeakyRelu', [], { alpha: { float: alpha } });
    case 'sigmoid':
      return keep('Sigmoid');
    case 'tanh':
      return keep('Tanh');
    case 'swish': {
      const sigmoid = ctx.node('Sigmoid', [value.as(value.layout)]);
      return ctx.output(ctx.node('Mul', [value.as(value.layout), sigmoid]), value.layout);
    }
    case 'hardSigmoid':
      return keep('HardSigmoid', [], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    case 'hardSwish':
      return keep('HardSwish');
    case 'softmax':
      return ctx.output(ctx.node('Softmax', [value.as('flat')], { axis: -1 }), 'flat');
  }
}

function clip(ctx: LayerContext, keep: (op: string, extra: string[]) => OnnxValue, maxValue: number): OnnxValue {
  return keep('Clip', [ctx.builder.scalar(`${ctx.name}.min`, 0), ctx.builder.scalar(`${ctx.name}.max`, maxValue)]);
}

export const activationLayer: LayerExporter<ActivationConfig> = (ctx) => {
  const c = ctx.layer.config;
  return applyActivation(ctx, ctx.input, c.activation, c.alpha, c.maxValue ?? null);
};
