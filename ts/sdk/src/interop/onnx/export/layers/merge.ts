/** Add → Add (a chain for more than two inputs); Average → Mean; Multiply → Mul (a `[1, 1, c]` scale broadcast); Concatenate → Concat on the channel axis. Inputs meet in the first one's layout (Multiply: the larger one's). */
import type { AddConfig, AverageConfig, ConcatenateConfig, MultiplyConfig } from '../../../../layers/merge.js';
import type { LayerExporter } from '../layer-context.js';

export const add: LayerExporter<AddConfig> = (ctx) => {
  const layout = ctx.input.layout;
  const [first, ...rest] = ctx.inputs.map((v) => v.as(layout));
  return ctx.output(rest.reduce((sum, x) => ctx.node('Add', [sum, x]), first!), layout);
};

export const average: LayerExporter<AverageConfig> = (ctx) => {
  const layout = ctx.input.layout;
  return ctx.output(ctx.node('Mean', ctx.inputs.map((v) => v.as(layout))), layout);
};

export const multiply: LayerExporter<MultiplyConfig> = (ctx) => {
  // The output has the larger input's shape; a [1, 1, c] scale in that layout ([N, c, 1, 1] or [N, 1, 1, c]) broadcasts.
  const full = ctx.inputs.find((v) => v.shape.join() === ctx.layer.outputShape.join())!;
  return ctx.output(ctx.node('Mul', ctx.inputs.map((v) => v.as(full.layout))), full.layout);
};

export const concatenate: LayerExporter<ConcatenateConfig> = (ctx) => {
  const layout = ctx.input.layout;
  return ctx.output(ctx.node('Concat', ctx.inputs.map((v) => v.as(layout)), { axis: layout === 'nhwc' ? 3 : 1 }), layout);
};
