/**
 * BatchNormalization (kept by BN-preserving exports) as a BatchNormalization
 * layer with its scale, bias and running statistics. ONNX's momentum has
 * Keras' meaning (running = running·momentum + batch·(1 - momentum)).
 */
import { BatchNormalization } from '../../../../layers/batch-normalization.js';
import type { NodeContext } from '../context.js';
import type { OpTable } from '../op-row.js';
import { sameLayout, type Value } from '../values.js';

function convert(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  if (ctx.attrs.int('training_mode', 0) !== 0) throw ctx.attrs.error('training_mode', 'is 1 (batch statistics at inference); export the model in eval mode');
  if (ctx.node.outputs.slice(1).some((o) => o !== '')) throw ctx.error('training outputs (running mean and variance) are not supported; export the model in eval mode');
  const channels = x.tensor.shape[2];
  const perChannel = (k: number, what: string): Float32Array => {
    const c = ctx.floatConstant(k, what);
    if (c.data.length !== channels) throw ctx.error(`${what} has ${c.data.length} values, the input has ${channels} channels`);
    return c.data;
  };
  const weights = { gamma: perChannel(1, 'scale'), beta: perChannel(2, 'B'), movingMean: perChannel(3, 'input_mean'), movingVariance: perChannel(4, 'input_var') };
  const epsilon = ctx.attrs.float('epsilon', 1e-5);
  const momentum = ctx.attrs.float('momentum', 0.9);
  const y = ctx.addLayer((name) => new BatchNormalization({ name, epsilon, momentum }), [x.tensor], weights);
  return [sameLayout(x, y)];
}

export const normalizationOps: OpTable = {
  BatchNormalization: { attributes: ['epsilon', 'momentum', 'training_mode'], convert },
};
