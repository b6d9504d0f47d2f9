/**
 * Conv2D and DepthwiseConv2D → `nn.Conv2d` (depthwise: `groups` = input
 * channels), weights OIHW; Keras' 'same' and asymmetric pads become an
 * `F.pad` before an unpadded convolution.
 */
import type { Conv2DConfig } from '../../../layers/conv2d.js';
import type { DepthwiseConv2DConfig } from '../../../layers/depthwise-conv2d.js';
import { depthwiseToOihw, hwioToOihw } from '../../layouts.js';
import { pyTuple } from '../python-names.js';
import type { TorchLayerContext, TorchLayerExporter } from '../layer-context.js';
import type { TorchValue } from '../values.js';
import { activationCall } from './activation.js';
import { windowPadding } from './padding.js';

function convolution(ctx: TorchLayerContext<Conv2DConfig | DepthwiseConv2DConfig>, weight: Float32Array, dims: [number, number, number, number], groups: number): TorchValue {
  const c = ctx.layer.config;
  const cin = ctx.layer.inputShapes[0]![2];
  const pad = windowPadding(c.padding, ctx.layer.inputShapes[0]!, c.kernelSize, c.strides);
  const args = [`${cin}, ${dims[0]}`, `kernel_size=${pyTuple(c.kernelSize)}`, `stride=${pyTuple(c.strides)}`, `padding=${pad.native}`];
  if (groups > 1) args.push(`groups=${groups}`);
  args.push(`bias=${c.useBias ? 'True' : 'False'}`);
  const self = ctx.submodule(`nn.Conv2d(${args.join(', ')})`);
  ctx.tensor('weight', dims, weight);
  if (c.useBias) ctx.tensor('bias', [dims[0]], ctx.layer.weight('bias'));
  return ctx.output(activationCall(c.activation, `${self}(${pad.apply(ctx.input.as('nchw'))})`), 'nchw');
}

export const conv2d: TorchLayerExporter<Conv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const [kh, kw] = c.kernelSize;
  const cin = ctx.layer.inputShapes[0]![2];
  return convolution(ctx, hwioToOihw(ctx.layer.weight('kernel'), [kh, kw, cin, c.filters]), [c.filters, cin, kh, kw], 1);
};

export const depthwiseConv2d: TorchLayerExporter<DepthwiseConv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const [kh, kw] = c.kernelSize;
  const channels = ctx.layer.inputShapes[0]![2];
  return convolution(ctx, depthwiseToOihw(ctx.layer.weight('kernel'), [kh, kw, channels, c.depthMultiplier]), [channels * c.depthMultiplier, 1, kh, kw], channels);
};
