/**
 * Conv2D and DepthwiseConv2D → Conv in NCHW (depthwise: `group` = input
 * channels), weights OIHW, Keras' 'same' resolved to explicit pads for the
 * input size, then the fused activation.
 */
import type { Conv2DConfig } from '../../../../layers/conv2d.js';
import type { DepthwiseConv2DConfig } from '../../../../layers/depthwise-conv2d.js';
import { depthwiseToOihw, hwioToOihw, resolvePads } from '../../../layouts.js';
import type { LayerContext, LayerExporter } from '../layer-context.js';
import type { OnnxValue } from '../values.js';
import { applyActivation } from './activation.js';
import { onnxPads } from './pads.js';

function convolution(ctx: LayerContext<Conv2DConfig | DepthwiseConv2DConfig>, weight: Float32Array, dims: [number, number, number, number], group: number): OnnxValue {
  const c = ctx.layer.config;
  const b = ctx.builder;
  const inputs = [ctx.input.as('nchw'), b.float32(`${c.name}.weight`, dims, weight)];
  if (c.useBias) inputs.push(b.float32(`${c.name}.bias`, [dims[0]], ctx.layer.weight('bias')));
  const pads = resolvePads(c.padding, ctx.layer.inputShapes[0]!, c.kernelSize, c.strides);
  const out = ctx.output(ctx.node('Conv', inputs, { kernel_shape: c.kernelSize, strides: c.strides, pads: onnxPads(pads), group, dilations: [1, 1] }), 'nchw');
  return applyActivation(ctx, out, c.activation);
}

export const conv2d: LayerExporter<Conv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const [kh, kw] = c.kernelSize;
  const cin = ctx.layer.inputShapes[0]![2];
  return convolution(ctx, hwioToOihw(ctx.layer.weight('kernel'), [kh, kw, cin, c.filters]), [c.filters, cin, kh, kw], 1);
};

export const depthwiseConv2d: LayerExporter<DepthwiseConv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const [kh, kw] = c.kernelSize;
  const channels = ctx.layer.inputShapes[0]![2];
  return convolution(ctx, depthwiseToOihw(ctx.layer.weight('kernel'), [kh, kw, channels, c.depthMultiplier]), [channels * c.depthMultiplier, 1, kh, kw], channels);
};
