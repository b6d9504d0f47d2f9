/**
 * Dense → `nn.Linear` (weight `[out, in]`). After a Flatten of NCHW data
 * (`chw` features) the weight's columns are permuted to that order, so the
 * module flattens like any PyTorch module and computes lite-cnn's result.
 */
import type { DenseConfig } from '../../../layers/dense.js';
import { chwToHwcOrder, permuteRows, transpose2d } from '../../layouts.js';
import type { TorchLayerExporter } from '../layer-context.js';
import { activationCall } from './activation.js';

export const dense: TorchLayerExporter<DenseConfig> = (ctx) => {
  const c = ctx.layer.config;
  const features = ctx.layer.inputShapes[0]![2];
  const input = ctx.input;
  const layout = input.layout === 'chw' ? 'chw' : 'flat';
  let kernel = ctx.layer.weight('kernel');
  if (layout === 'chw') kernel = permuteRows(kernel, chwToHwcOrder(input.flattenedFrom!), c.units);
  const self = ctx.submodule(`nn.Linear(${features}, ${c.units}, bias=${c.useBias ? 'True' : 'False'})`);
  ctx.tensor('weight', [c.units, features], transpose2d(kernel, features, c.units));
  if (c.useBias) ctx.tensor('bias', [c.units], ctx.layer.weight('bias'));
  return ctx.output(activationCall(c.activation, `${self}(${input.as(layout)})`), 'flat');
};
