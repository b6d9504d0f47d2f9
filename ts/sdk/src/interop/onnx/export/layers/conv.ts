/**
 * Conv2D and DepthwiseConv2D → Conv in NCHW (depthwise: `group` = input
 * channels), weights OIHW, Keras' 'same' resolved to explicit pads for the
 * input size, then the fused activation.
 */
import type { Conv2DConfig } from '../../../../layers/conv2d.js';
import type { DepthwiseConv2DConfig } from '../../../../layers/depthwise-conv2d.js';
import { oihwKernel, resolvePads } from '../../../layouts.js';
import type { LayerExporter } from '../layer-context.js';
import { applyActivation } from './activation.js';
import { onnxPads } from './pads.js';

/** Conv2D and DepthwiseConv2D alike: one Conv node, the kernel as OIHW, then the fused activation. */
export const convolution: LayerExporter<Conv2DConfig | DepthwiseConv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const b = ctx.builder;
  const input = ctx.layer.inputShapes[0]!;
  const kernel = oihwKernel(c, input[2], ctx.layer.weight('kernel'));
  const inputs = [ctx.input.as('nchw'), b.float32(`${c.name}.weight`, kernel.dims, kernel.data)];
  if (c.useBias) inputs.push(b.float32(`${c.name}.bias`, [kernel.dims[0]], ctx.layer.weight('bias')));
  const pads = resolvePads(c.padding, input, c.kernelSize, c.strides);
  const attributes = { kernel_shape: c.kernelSize, strides: c.strides, pads: onnxPads(pads), group: kernel.groups, dilations: [1, 1] };
  return applyActivation(ctx, ctx.output(ctx.node('Conv', inputs, attributes), 'nchw'), c.activation);
};
