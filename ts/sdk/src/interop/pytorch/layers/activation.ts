/** Activations as `torch.nn.functional` calls: fused into a layer's line or a layer of their own. */
import type { ActivationConfig } from '../../../layers/activation-layers.js';
import { DEFAULT_LEAKY_ALPHA, type ActivationName } from '../../../layers/activations.js';
import { pyFloat } from '../python-names.js';
import type { TorchLayerExporter } from '../layer-context.js';

/** `expression` through `activation` (softmax over dim 1: flat features). */
export function activationCall(activation: ActivationName, expression: string, alpha = DEFAULT_LEAKY_ALPHA, maxValue: number | null = null): string {
  switch (activation) {
    case 'linear':
      return expression;
    case 'relu':
      return maxValue === null ? `F.relu(${expression})` : `F.hardtanh(${expression}, 0.0, ${pyFloat(maxValue)})`;
    case 'relu6':
      return `F.relu6(${expression})`;
    case 'leakyRelu':
      return `F.leaky_relu(${expression}, ${pyFloat(alpha)})`;
    case 'sigmoid':
      return `torch.sigmoid(${expression})`;
    case 'tanh':
      return `torch.tanh(${expression})`;
    case 'swish':
      return `F.silu(${expression})`;
    case 'hardSigmoid':
      return `F.hardsigmoid(${expression})`;
    case 'hardSwish':
      return `F.hardswish(${expression})`;
    case 'softmax':
      return `torch.softmax(${expression}, dim=1)`;
  }
}

export const activationLayer: TorchLayerExporter<ActivationConfig> = (ctx) => {
  const c = ctx.layer.config;
  const input = ctx.input;
  // Softmax needs flat features; any order of them gives the same softmax, so `chw` stays `chw`.
  const layout = c.activation === 'softmax' && input.layout === 'nchw' ? 'flat' : input.layout;
  return ctx.output(activationCall(c.activation, input.as(layout), c.alpha, c.maxValue ?? null), layout, input.flattenedFrom);
};
