/**
 * Ops that keep or reshape data: Identity, Dropout, Flatten, Reshape (only
 * to [n, features]), Pad (zeros on height and width) and Transpose (only an
 * NHWC graph input to NCHW). Flattening an NCHW tensor with more than one
 * pixel adds lite-cnn's NHWC Flatten and records the feature order the next
 * Gemm must undo; after a global pool ([n, c, 1, 1]) both orders agree and
 * no layer is needed.
 */
import { Dropout, Flatten } from '../../../../layers/reshape-layers.js';
import { ZeroPadding2D } from '../../../../layers/zero-padding.js';
import { shapeSize } from '../../../../layers/shape.js';
import type { NodeContext } from '../context.js';
import type { OpTable } from '../op-row.js';
import type { TensorValue, Value } from '../values.js';

function flatten(ctx: NodeContext, x: TensorValue): Value[] {
  if (x.rank === 2) return [x];
  const [h, w, c] = x.tensor.shape;
  if (h * w === 1) return [{ ...x, rank: 2 }];
  const y = ctx.addLayer((name) => new Flatten({ name }), [x.tensor]);
  return [{ kind: 'tensor', tensor: y, rank: 2, layout: 'nchw', flatOrder: { c, h, w } }];
}

function flattenOp(ctx: NodeContext): Value[] {
  const axis = ctx.attrs.int('axis', 1);
  if (axis !== 1) throw ctx.attrs.error('axis', `is ${axis}; supported: 1 (to [n, features])`);
  return flatten(ctx, ctx.tensor(0));
}

function reshape(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  const target = ctx.ints(1, 'shape');
  const features = shapeSize(x.tensor.shape);
  const allowZero = ctx.attrs.int('allowzero', 0) !== 0;
  const [n, f] = target;
  const batchOk = n !== undefined && (n === -1 || (n === 0 && !allowZero) || (ctx.batch !== null && n === ctx.batch));
  const featuresOk = f !== undefined && (f === features || (f === -1 && n !== -1));
  if (target.length !== 2 || !batchOk || !featuresOk) {
    throw ctx.error(`Reshape to [${target.join(', ')}] is not supported; supported: flattening to [n, ${features}] (shape [0 or -1 or the batch, ${features} or -1])`);
  }
  return flatten(ctx, x);
}

function dropout(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  const rate = ctx.opset >= 12 ? (ctx.optionalScalar(1, 'ratio') ?? 0.5) : ctx.attrs.float('ratio', 0.5);
  const training = ctx.optionalConstant(2);
  if (training && training.data.some((v) => v !== 0)) throw ctx.error('training_mode is true; only inference-mode Dropout is imported');
  if (rate === 0) return [x];
  // 'seed' is ignored: lite-cnn's dropout masks come from the model's own seeded generator.
  return [{ ...x, tensor: ctx.addLayer((name) => new Dropout({ name, rate }), [x.tensor]) }];
}

function pad(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  const mode = ctx.attrs.string('mode', 'constant');
  if (mode !== 'constant') throw ctx.attrs.error('mode', `is '${mode}'; supported: 'constant' (zeros)`);
  const value = ctx.optionalScalar(2, 'constant_value') ?? 0;
  if (value !== 0) throw ctx.error(`constant_value ${value} is not supported; supported: 0`);
  const pads = ctx.ints(1, 'pads');
  // [n_begin, c_begin, h_begin, w_begin, n_end, c_end, h_end, w_end]
  const [nb, cb, top, left, ne, ce, bottom, right] = pads;
  if (x.rank !== 4 || pads.length !== 8 || nb !== 0 || cb !== 0 || ne !== 0 || ce !== 0 || pads.some((p) => p < 0)) {
    throw ctx.error(`pads [${pads.join(', ')}] are not supported; supported: non-negative pads on height and width of a 4-D tensor`);
  }
  const padding = { top: top!, bottom: bottom!, left: left!, right: right! };
  return [{ ...x, tensor: ctx.addLayer((name) => new ZeroPadding2D({ name, padding }), [x.tensor]) }];
}

function transpose(ctx: NodeContext): Value[] {
  const perm = ctx.attrs.ints('perm') ?? [];
  if (perm.join(',') !== '0,3,1,2') throw ctx.attrs.error('perm', `is [${perm.join(', ')}]; supported: [0, 3, 1, 2] on an NHWC graph input`);
  return [{ ...ctx.tensor(0, { layout: 'nhwc' }), layout: 'nchw' }];
}

export const shapeOps: OpTable = {
  Identity: { attributes: [], convert: (ctx) => [ctx.inputKind(0) === 'constant' ? { kind: 'constant', constant: ctx.optionalConstant(0)! } : ctx.tensor(0)] },
  Dropout: { attributes: ['ratio', 'seed'], convert: dropout },
  Flatten: { attributes: ['axis'], convert: flattenOp },
  Reshape: { attributes: ['allowzero'], convert: reshape },
  Pad: { attributes: ['mode'], convert: pad },
  Transpose: { attributes: ['perm'], convert: transpose },
};
