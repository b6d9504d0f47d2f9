/**
 * Relu, Clip (a bounded ReLU: min 0, max > 0 or none), LeakyRelu, Sigmoid,
 * Tanh, HardSigmoid (PyTorch's: alpha 1/6, beta 1/2), HardSwish, the fused
 * Sigmoid → Mul pattern (swish; fuse.ts) and Softmax (over the features of a
 * 2-D tensor). Elementwise, so a pending flatten order and the layout (NCHW
 * or NHWC) pass through them unchanged.
 */
import { Activation, LeakyReLU, ReLU, Softmax } from '../../../../layers/activation-layers.js';
import type { AnyLayer } from '../../../../layers/config.js';
import type { NodeContext } from '../context.js';
import { SWISH_PATTERN } from '../fuse.js';
import type { OpTable } from '../op-row.js';
import { sameLayout, type Value } from '../values.js';

function elementwise(ctx: NodeContext, make: (name: string) => AnyLayer): Value[] {
  const x = ctx.tensor(0, { anyLayout: true });
  return [sameLayout(x, ctx.addLayer(make, [x.tensor]))];
}

function clip(ctx: NodeContext): Value[] {
  const min = ctx.optionalScalar(1, 'min') ?? -Infinity;
  const max = ctx.optionalScalar(2, 'max') ?? Infinity;
  if (min !== 0 || !(max > 0)) {
    throw ctx.error(`Clip(min ${min}, max ${max}) is not supported; supported: min 0 with max > 0 or no max (ReLU, ReLU6)`);
  }
  return elementwise(ctx, (name) => new ReLU({ name, maxValue: Number.isFinite(max) ? max : null }));
}

/** ONNX's HardSigmoid is `max(0, min(1, alpha·x + beta))`; lite-cnn's hard sigmoid is the alpha 1/6, beta 1/2 one (float32 attributes: within 1e-6). */
function hardSigmoid(ctx: NodeContext): Value[] {
  const alpha = ctx.attrs.float('alpha', 0.2);
  const beta = ctx.attrs.float('beta', 0.5);
  if (Math.abs(alpha - 1 / 6) > 1e-6 || Math.abs(beta - 0.5) > 1e-6) {
    throw ctx.error(`HardSigmoid(alpha ${alpha}, beta ${beta}) is not supported; supported: alpha 1/6 and beta 0.5 (PyTorch's hardsigmoid, Keras 3's hard_sigmoid)`);
  }
  return elementwise(ctx, (name) => new Activation({ name, activation: 'hardSigmoid' }));
}

function softmax(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  const axis = ctx.attrs.int('axis', ctx.opset >= 13 ? -1 : 1);
  if (x.rank !== 2 || (axis !== 1 && axis !== -1)) {
    throw ctx.error(`Softmax over axis ${axis} of a rank-${x.rank} tensor is not supported; supported: the feature axis (1 or -1) of a 2-D [n, features] tensor`);
  }
  return [sameLayout(x, ctx.addLayer((name) => new Softmax({ name }), [x.tensor]))];
}

export const activationOps: OpTable = {
  Relu: { attributes: [], convert: (ctx) => elementwise(ctx, (name) => new ReLU({ name })) },
  Clip: { attributes: [], convert: clip },
  LeakyRelu: { attributes: ['alpha'], convert: (ctx) => elementwise(ctx, (name) => new LeakyReLU({ name, alpha: ctx.attrs.float('alpha', 0.01) })) },
  Sigmoid: { attributes: [], convert: (ctx) => elementwise(ctx, (name) => new Activation({ name, activation: 'sigmoid' })) },
  Tanh: { attributes: [], convert: (ctx) => elementwise(ctx, (name) => new Activation({ name, activation: 'tanh' })) },
  HardSigmoid: { attributes: ['alpha', 'beta'], convert: hardSigmoid },
  HardSwish: { attributes: [], convert: (ctx) => elementwise(ctx, (name) => new Activation({ name, activation: 'hardSwish' })) },
  Softmax: { attributes: ['axis'], convert: softmax },
};

/** Rows of fused node patterns (fuse.ts), not ONNX op types. */
export const fusedActivationOps: OpTable = {
  [SWISH_PATTERN]: { attributes: [], convert: (ctx) => elementwise(ctx, (name) => new Activation({ name, activation: 'swish' })) },
};
