/** Add → Add (a chain for more than two inputs); Average → Mean; Concatenate → Concat on the channel axis. Inputs meet in the first one's layout. */
import type { AddConfig, AverageConfig, ConcatenateConfig } from '../../../../layers/merge.js';
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

export const concatenate: LayerExporter<ConcatenateConfig> = (ctx) => {
  const layout = ctx.input.layout;
  return ctx.output(ctx.node('Concat', ctx.inputs.map((v) => v.as(layout)), { axis: layout === 'nhwc' ? 3 : 1 }), layout);
};
