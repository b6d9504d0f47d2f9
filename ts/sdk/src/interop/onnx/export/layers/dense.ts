/** Dense → Gemm over flat features; the kernel keeps lite-cnn's `[in, out]` (Gemm's B), then the fused activation. */
import type { DenseConfig } from '../../../../layers/dense.js';
import type { LayerExporter } from '../layer-context.js';
import { applyActivation } from './activation.js';

export const dense: LayerExporter<DenseConfig> = (ctx) => {
  const c = ctx.layer.config;
  const b = ctx.builder;
  const features = ctx.layer.inputShapes[0]![2];
  // The input is flattened in NHWC order (values.ts), the order the kernel's rows were trained in.
  const inputs = [ctx.input.as('flat'), b.float32(`${c.name}.weight`, [features, c.units], ctx.layer.weight('kernel'))];
  if (c.useBias) inputs.push(b.float32(`${c.name}.bias`, [c.units], ctx.layer.weight('bias')));
  return applyActivation(ctx, ctx.output(ctx.node('Gemm', inputs), 'flat'), c.activation);
};
