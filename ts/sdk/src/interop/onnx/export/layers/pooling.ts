/**
 * MaxPooling2D → MaxPool, AveragePooling2D → AveragePool (ceil_mode,
 * count_include_pad), GlobalAveragePooling2D → GlobalAveragePool, in NCHW.
 */
import type { GlobalAveragePooling2DConfig, Pooling2DConfig } from '../../../../layers/pooling.js';
import { resolvePads } from '../../../layouts.js';
import type { LayerExporter } from '../layer-context.js';
import { onnxPads } from './pads.js';

export const pooling2d: LayerExporter<Pooling2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const pads = resolvePads(c.padding, ctx.layer.inputShapes[0]!, c.poolSize, c.strides);
  const attributes = { kernel_shape: c.poolSize, strides: c.strides, pads: onnxPads(pads), ceil_mode: c.ceilMode ? 1 : 0 };
  const tensor =
    c.kind === 'MaxPooling2D'
      ? ctx.node('MaxPool', [ctx.input.as('nchw')], attributes)
      : ctx.node('AveragePool', [ctx.input.as('nchw')], { ...attributes, count_include_pad: c.countIncludePad ? 1 : 0 });
  return ctx.output(tensor, 'nchw');
};

export const globalAveragePooling2d: LayerExporter<GlobalAveragePooling2DConfig> = (ctx) => ctx.output(ctx.node('GlobalAveragePool', [ctx.input.as('nchw')]), 'nchw');
