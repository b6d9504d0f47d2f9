/**
 * Conv2D and DepthwiseConv2D → `nn.Conv2d` (depthwise: `groups` = input
 * channels), weights OIHW; Keras' 'same' and asymmetric pads become an
 * `F.pad` before an unpadded convolution.
 */
import type { Conv2DConfig } from '../../../layers/conv2d.js';
import type { DepthwiseConv2DConfig } from '../../../layers/depthwise-conv2d.js';
import { oihwKernel } from '../../layouts.js';
import { pyTuple } from '../python-names.js';
import type { TorchLayerExporter } from '../layer-context.js';
import { activationCall } from './activation.js';
import { windowPadding } from './padding.js';

/** Conv2D and DepthwiseConv2D alike: one `nn.Conv2d` with the kernel as OIHW, then the fused activation. */
export const convolution: TorchLayerExporter<Conv2DConfig | DepthwiseConv2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const input = ctx.layer.inputShapes[0]!;
  const kernel = oihwKernel(c, input[2], ctx.layer.weight('kernel'));
  const pad = windowPadding(c.padding, input, c.kernelSize, c.strides);
  const args = [`${input[2]}, ${kernel.dims[0]}`, `kernel_size=${pyTuple(c.kernelSize)}`, `stride=${pyTuple(c.strides)}`, `padding=${pad.native}`];
  if (kernel.groups > 1) args.push(`groups=${kernel.groups}`);
  args.push(`bias=${c.useBias ? 'True' : 'False'}`);
  const self = ctx.submodule(`nn.Conv2d(${args.join(', ')})`);
  ctx.tensor('weight', kernel.dims, kernel.data);
  if (c.useBias) ctx.tensor('bias', [kernel.dims[0]], ctx.layer.weight('bias'));
  return ctx.output(activationCall(c.activation, `${self}(${pad.apply(ctx.input.as('nchw'))})`), 'nchw');
};
