/**
 * Ops that keep or reshape data: Identity, Dropout, Flatten, Reshape (only
 * to [n, features]), Pad (zeros on height and width), Transpose (between
 * NCHW and NHWC) and Unsqueeze (flat features back to a 1x1 map). lite-cnn
 * holds every 4-D tensor as NHWC, so a Transpose adds no layer: it changes
 * which ONNX axes the value's dims mean. Flattening an NCHW tensor with more
 * than one pixel adds lite-cnn's NHWC Flatten and records the feature order
 * the next Gemm must undo; flattening an NHWC one (lite-cnn's own exports)
 * or a 1x1 map ([n, c, 1, 1], after a global pool) needs no reordering.
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
  if (h * w === 1) return [{ ...x, rank: 2, layout: 'nchw' }];
  const y = ctx.addLayer((name) => new Flatten({ name }), [x.tensor]);
  return [{ kind: 'tensor', tensor: y, rank: 2, layout: 'nchw', flatOrder: x.layout === 'nhwc' ? null : { c, h, w } }];
}

function flattenOp(ctx: NodeContext): Value[] {
  const axis = ctx.attrs.int('axis', 1);
  if (axis !== 1) throw ctx.attrs.error('axis', `is ${axis}; supported: 1 (to [n, features])`);
  return flatten(ctx, ctx.tensor(0, { anyLayout: true }));
}

function reshape(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0, { anyLayout: true });
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
  const x = ctx.tensor(0, { anyLayout: true });
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

const NHWC_TO_NCHW = '0,3,1,2';
const NCHW_TO_NHWC = '0,2,3,1';

function transpose(ctx: NodeContext): Value[] {
  const perm = (ctx.attrs.ints('perm') ?? []).join(',');
  const x = ctx.tensor(0, { anyLayout: true });
  const from = x.layout === 'nhwc' ? NHWC_TO_NCHW : NCHW_TO_NHWC;
  if (x.rank !== 4 || perm !== from) {
    const what = x.rank !== 4 ? 'a 2-D tensor' : `an ${x.layout.toUpperCase()} tensor`;
    throw ctx.attrs.error('perm', `is [${perm.split(',').join(', ')}] on ${what}; supported: [${NHWC_TO_NCHW.split(',').join(', ')}] (NHWC to NCHW) and [${NCHW_TO_NHWC.split(',').join(', ')}] (NCHW to NHWC) of 4-D tensors`);
  }
  return [{ ...x, layout: x.layout === 'nhwc' ? 'nchw' : 'nhwc' }];
}

/** Flat features `[n, f]` as a 1x1 map: `[n, f, 1, 1]` (axes 2, 3) or `[n, 1, 1, f]` (axes 1, 2). */
function unsqueeze(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  const axes = (ctx.opset >= 13 ? ctx.ints(1, 'axes') : (ctx.attrs.ints('axes') ?? [])).map((a) => (a < 0 ? a + 4 : a));
  const layout = axes.join(',') === '2,3' ? 'nchw' : axes.join(',') === '1,2' ? 'nhwc' : null;
  if (x.rank !== 2 || layout === null) throw ctx.error(`Unsqueeze of a rank-${x.rank} tensor at axes [${axes.join(', ')}] is not supported; supported: [n, features] to [n, features, 1, 1] (axes [2, 3]) or [n, 1, 1, features] (axes [1, 2])`);
  if (x.flatOrder) throw ctx.error('Unsqueeze of features flattened from an NCHW map is not supported (lite-cnn holds them in NHWC order); supported: features of a 1x1 map or of a Gemm');
  return [{ ...x, rank: 4, layout }];
}

export const shapeOps: OpTable = {
  Identity: { attributes: [], convert: (ctx) => [ctx.inputKind(0) === 'constant' ? { kind: 'constant', constant: ctx.optionalConstant(0)! } : ctx.tensor(0, { anyLayout: true })] },
  Dropout: { attributes: ['ratio', 'seed'], convert: dropout },
  Flatten: { attributes: ['axis'], convert: flattenOp },
  Reshape: { attributes: ['allowzero'], convert: reshape },
  Pad: { attributes: ['mode'], convert: pad },
  Transpose: { attributes: ['perm'], convert: transpose },
  Unsqueeze: { attributes: ['axes'], convert: unsqueeze },
};
