/**
 * Flatten → `torch.flatten` (PyTorch's CHW order: the next Dense or
 * BatchNormalization permutes its weights, values.ts), Dropout →
 * `nn.Dropout` (active in `train()`), ZeroPadding2D → `nn.ZeroPad2d`.
 */
import type { DropoutConfig, FlattenConfig } from '../../../layers/reshape-layers.js';
import type { ZeroPadding2DConfig } from '../../../layers/zero-padding.js';
import { isFlatShape } from '../../layouts.js';
import { pyFloat, pyTuple } from '../python-names.js';
import type { TorchLayerExporter } from '../layer-context.js';

export const flatten: TorchLayerExporter<FlattenConfig> = (ctx) => {
  const input = ctx.input;
  const shape = ctx.layer.inputShapes[0]!;
  if (input.layout === 'nchw' && !isFlatShape(shape)) return ctx.output(`torch.flatten(${input.as('nchw')}, 1)`, 'chw', shape);
  const layout = input.layout === 'chw' ? 'chw' : 'flat';
  return ctx.output(input.as(layout), layout, input.flattenedFrom);
};

export const dropout: TorchLayerExporter<DropoutConfig> = (ctx) => {
  const input = ctx.input;
  const self = ctx.submodule(`nn.Dropout(${pyFloat(ctx.layer.config.rate)})`);
  return ctx.output(`${self}(${input.as(input.layout)})`, input.layout, input.flattenedFrom);
};

export const zeroPadding2d: TorchLayerExporter<ZeroPadding2DConfig> = (ctx) => {
  const p = ctx.layer.config.padding;
  const self = ctx.submodule(`nn.ZeroPad2d(${pyTuple([p.left, p.right, p.top, p.bottom])})`);
  return ctx.output(`${self}(${ctx.input.as('nchw')})`, 'nchw');
};
