/**
 * Add → `a + b`, Concatenate → `torch.cat(..., dim=1)`. Inputs meet in the
 * first one's layout; flat features are concatenated in lite-cnn's order.
 */
import type { AddConfig, ConcatenateConfig } from '../../../layers/merge.js';
import type { TorchLayerExporter } from '../layer-context.js';

export const add: TorchLayerExporter<AddConfig> = (ctx) => {
  const first = ctx.input;
  // `chw` features only add to `chw` features of the same flattened shape.
  const sameChw = first.layout === 'chw' && ctx.inputs.every((v) => v.layout === 'chw' && v.flattenedFrom!.join() === first.flattenedFrom!.join());
  const layout = first.layout === 'chw' && !sameChw ? 'flat' : first.layout;
  return ctx.output(ctx.inputs.map((v) => v.as(layout)).join(' + '), layout, sameChw ? first.flattenedFrom : null);
};

export const concatenate: TorchLayerExporter<ConcatenateConfig> = (ctx) => {
  const layout = ctx.input.layout === 'nchw' ? 'nchw' : 'flat';
  return ctx.output(`torch.cat([${ctx.inputs.map((v) => v.as(layout)).join(', ')}], dim=1)`, layout);
};
