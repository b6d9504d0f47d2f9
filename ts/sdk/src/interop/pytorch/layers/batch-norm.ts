/**
 * BatchNormalization → `nn.BatchNorm2d` (NCHW) or `nn.BatchNorm1d` (flat
 * features, its vectors permuted for `chw` order). Keras' momentum m is
 * PyTorch's 1 - m.
 */
import type { BatchNormalizationConfig } from '../../../layers/batch-normalization.js';
import { chwToHwcOrder, permuteRows } from '../../layouts.js';
import type { WeightRole } from '../../exported-model.js';
import { pyFloat } from '../python-names.js';
import type { TorchLayerExporter } from '../layer-context.js';

const TENSORS: [string, WeightRole][] = [
  ['weight', 'gamma'],
  ['bias', 'beta'],
  ['running_mean', 'movingMean'],
  ['running_var', 'movingVariance'],
];

export const batchNormalization: TorchLayerExporter<BatchNormalizationConfig> = (ctx) => {
  const c = ctx.layer.config;
  const input = ctx.input;
  const channels = ctx.layer.inputShapes[0]![2];
  const spatial = input.layout === 'nchw';
  const order = input.layout === 'chw' ? chwToHwcOrder(input.flattenedFrom!) : null;
  const self = ctx.submodule(`nn.BatchNorm${spatial ? '2d' : '1d'}(${channels}, eps=${pyFloat(c.epsilon)}, momentum=${pyFloat(Math.round((1 - c.momentum) * 1e9) / 1e9)})`);
  for (const [suffix, role] of TENSORS) {
    const v = ctx.layer.weight(role);
    ctx.tensor(suffix, [channels], order ? permuteRows(v, order, 1) : v);
  }
  ctx.module.int64Scalar(`${ctx.id}.num_batches_tracked`, 0n);
  return ctx.output(`${self}(${input.as(input.layout)})`, input.layout, input.flattenedFrom);
};
