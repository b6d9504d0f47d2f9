/**
 * Add → `a + b`, Average → `(a + b + c) / 3` (the sum in input order, then one
 * division, as lite-cnn's kernel), Multiply → `a * b` (a `[1, 1, c]` scale as
 * `[N, c, 1, 1]`, broadcast), Concatenate → `torch.cat(..., dim=1)`.
 * Inputs meet in the first one's layout; flat features are concatenated in
 * lite-cnn's order.
 */
import type { AddConfig, AverageConfig, ConcatenateConfig, MultiplyConfig } from '../../../layers/merge.js';
import type { TorchLayerContext, TorchLayerExporter } from '../layer-context.js';
import type { TorchLayout } from '../values.js';
import type { Shape3 } from '../../../layers/shape.js';

/** The inputs' sum as an expression in one layout, and the flattened shape it keeps. */
function sum(ctx: TorchLayerContext<AddConfig | AverageConfig>): { expr: string; layout: TorchLayout; flattenedFrom: Shape3 | null } {
  const first = ctx.input;
  // `chw` features only add to `chw` features of the same flattened shape.
  const sameChw = first.layout === 'chw' && ctx.inputs.every((v) => v.layout === 'chw' && v.flattenedFrom!.join() === first.flattenedFrom!.join());
  const layout = first.layout === 'chw' && !sameChw ? 'flat' : first.layout;
  return { expr: ctx.inputs.map((v) => v.as(layout)).join(' + '), layout, flattenedFrom: sameChw ? first.flattenedFrom : null };
}

export const add: TorchLayerExporter<AddConfig> = (ctx) => {
  const { expr, layout, flattenedFrom } = sum(ctx);
  return ctx.output(expr, layout, flattenedFrom);
};

export const average: TorchLayerExporter<AverageConfig> = (ctx) => {
  const { expr, layout, flattenedFrom } = sum(ctx);
  return ctx.output(`(${expr}) / ${ctx.inputs.length}`, layout, flattenedFrom);
};

export const multiply: TorchLayerExporter<MultiplyConfig> = (ctx) => {
  const full = ctx.inputs.find((v) => v.shape.join() === ctx.layer.outputShape.join())!;
  const layout = full.layout === 'nchw' ? 'nchw' : 'flat';
  return ctx.output(ctx.inputs.map((v) => v.as(layout)).join(' * '), layout);
};

export const concatenate: TorchLayerExporter<ConcatenateConfig> = (ctx) => {
  const layout = ctx.input.layout === 'nchw' ? 'nchw' : 'flat';
  return ctx.output(`torch.cat([${ctx.inputs.map((v) => v.as(layout)).join(', ')}], dim=1)`, layout);
};
