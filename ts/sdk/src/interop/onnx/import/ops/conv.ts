/** Conv: a Conv2D (group 1) or a DepthwiseConv2D (group = input channels), OIHW weights to HWIO. */
import { Conv2D } from '../../../../layers/conv2d.js';
import { DepthwiseConv2D } from '../../../../layers/depthwise-conv2d.js';
import type { NodeContext } from '../context.js';
import { oihwToHwio } from '../../../layouts.js';
import type { OpTable } from '../op-row.js';
import { sameLayout, type Value } from '../values.js';
import { readWindow, WINDOW_ATTRIBUTES } from './window.js';

function convert(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  if (x.rank !== 4) throw ctx.error(`input must be a 4-D [n, c, h, w] tensor, got rank ${x.rank}`);
  const w = ctx.floatConstant(1, 'weight');
  if (w.dims.length !== 4) throw ctx.error(`weight must be 4-D [out, in/group, kh, kw] (2-D convolutions only), got dims [${w.dims.join(', ')}]`);
  const [out, perGroup, kh, kw] = w.dims as [number, number, number, number];
  const [h, width, channels] = x.tensor.shape;
  const window = readWindow(ctx, [h, width], [kh, kw]);
  const bias = ctx.optionalConstant(2) ? ctx.floatConstant(2, 'bias') : undefined;
  if (bias && bias.data.length !== out) throw ctx.error(`bias has ${bias.data.length} values, the weight has ${out} output channels`);
  const group = ctx.attrs.int('group', 1);
  const kernel = oihwToHwio(w.data, out, perGroup, kh, kw);
  const weights = { kernel, ...(bias ? { bias: bias.data } : {}) };
  const common = { kernelSize: [kh, kw] as [number, number], strides: window.strides, padding: window.padding, useBias: bias !== undefined };
  let y;
  if (group === 1) {
    if (perGroup !== channels) throw ctx.error(`weight expects ${perGroup} input channels, the input has ${channels}`);
    y = ctx.addLayer((name) => new Conv2D({ name, filters: out, ...common }), [x.tensor], weights);
  } else if (group === channels && perGroup === 1 && out % channels === 0) {
    y = ctx.addLayer((name) => new DepthwiseConv2D({ name, depthMultiplier: out / channels, ...common }), [x.tensor], weights);
  } else {
    throw ctx.attrs.error('group', `is ${group} with ${channels} input channels and weight dims [${w.dims.join(', ')}]; supported: group 1, or group = input channels (depthwise)`);
  }
  return [sameLayout(x, y)];
}

export const convOps: OpTable = {
  Conv: { attributes: [...WINDOW_ATTRIBUTES, 'group'], convert },
};
