/**
 * Layers that move or keep data: Flatten (NHWC order, as lite-cnn flattens:
 * values.ts transposes back from NCHW first), Dropout (identity at inference:
 * no node) and ZeroPadding2D → Pad.
 */
import type { DropoutConfig, FlattenConfig } from '../../../../layers/reshape-layers.js';
import type { ZeroPadding2DConfig } from '../../../../layers/zero-padding.js';
import type { LayerExporter } from '../layer-context.js';

export const flatten: LayerExporter<FlattenConfig> = (ctx) => ctx.output(ctx.input.as('flat'), 'flat');

export const dropout: LayerExporter<DropoutConfig> = (ctx) => ctx.input;

export const zeroPadding2d: LayerExporter<ZeroPadding2DConfig> = (ctx) => {
  const p = ctx.layer.config.padding;
  const pads = ctx.builder.int64(`${ctx.name}.pads`, [0, 0, p.top, p.left, 0, 0, p.bottom, p.right]);
  return ctx.output(ctx.node('Pad', [ctx.input.as('nchw'), pads]), 'nchw');
};
