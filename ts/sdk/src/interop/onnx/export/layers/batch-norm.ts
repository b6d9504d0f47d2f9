/** BatchNormalization → BatchNormalization (inference mode: moving statistics), over NCHW or flat `[N, C]` data. */
import type { BatchNormalizationConfig } from '../../../../layers/batch-normalization.js';
import type { LayerExporter } from '../layer-context.js';

export const batchNormalization: LayerExporter<BatchNormalizationConfig> = (ctx) => {
  const c = ctx.layer.config;
  const b = ctx.builder;
  const channels = ctx.layer.inputShapes[0]![2];
  const layout = ctx.input.layout === 'flat' ? 'flat' : 'nchw';
  const param = (suffix: string, role: Parameters<typeof ctx.layer.weight>[0]) => b.float32(`${c.name}.${suffix}`, [channels], ctx.layer.weight(role));
  const inputs = [ctx.input.as(layout), param('weight', 'gamma'), param('bias', 'beta'), param('running_mean', 'movingMean'), param('running_var', 'movingVariance')];
  return ctx.output(ctx.node('BatchNormalization', inputs, { epsilon: { float: c.epsilon } }), layout);
};
