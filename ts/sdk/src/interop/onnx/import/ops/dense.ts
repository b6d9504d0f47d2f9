/**
 * Gemm (and MatMul, alone or fused with a following bias Add into a Gemm by
 * fuse.ts) as a Dense layer. When the input is a flattened NCHW tensor, the
 * kernel's rows are reordered so lite-cnn's NHWC-flattened features meet the
 * weights ONNX gave their NCHW twins.
 */
import { Dense } from '../../../../layers/dense.js';
import type { NodeContext } from '../context.js';
import { denseKernel } from '../../../layouts.js';
import type { OpTable } from '../op-row.js';
import type { Value } from '../values.js';

function dense(ctx: NodeContext, transposed: boolean, alpha: number, beta: number): Value[] {
  const x = ctx.tensor(0);
  if (x.rank !== 2) throw ctx.error(`input must be a 2-D [n, features] tensor (add Flatten first), got rank ${x.rank}`);
  const b = ctx.floatConstant(1, 'weight');
  const features = x.tensor.shape[2];
  if (b.dims.length !== 2) throw ctx.error(`weight must be 2-D, got dims [${b.dims.join(', ')}]`);
  const [rows, cols] = b.dims as [number, number];
  const inFeatures = transposed ? cols : rows;
  const units = transposed ? rows : cols;
  if (inFeatures !== features) throw ctx.error(`weight dims [${b.dims.join(', ')}]${transposed ? ' (transB)' : ''} expect ${inFeatures} input features, the input has ${features}`);
  const c = ctx.optionalConstant(2) ? ctx.floatConstant(2, 'bias') : undefined;
  let bias: Float32Array | undefined;
  if (c) {
    const n = c.data.length;
    const rowVector = c.dims.length <= 1 || (c.dims.length === 2 && c.dims[0] === 1);
    if (!rowVector || (n !== units && n !== 1)) throw ctx.error(`bias dims [${c.dims.join(', ')}] must broadcast over the ${units} units per sample ([${units}], [1, ${units}] or a scalar)`);
    bias = Float32Array.from({ length: units }, (_, u) => beta * c.data[n === 1 ? 0 : u]!);
  }
  const kernel = denseKernel(b.data, features, units, transposed, alpha, x.flatOrder);
  const y = ctx.addLayer((name) => new Dense({ name, units, useBias: bias !== undefined }), [x.tensor], { kernel, ...(bias ? { bias } : {}) });
  return [{ kind: 'tensor', tensor: y, rank: 2, layout: 'nchw', flatOrder: null }];
}

function gemm(ctx: NodeContext): Value[] {
  if (ctx.attrs.int('transA', 0) !== 0) throw ctx.attrs.error('transA', 'must be 0 (the input is [n, features])');
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw ctx.error(`alpha ${alpha} and beta ${beta} must be finite`);
  return dense(ctx, ctx.attrs.int('transB', 0) !== 0, alpha, beta);
}

export const denseOps: OpTable = {
  Gemm: { attributes: ['alpha', 'beta', 'transA', 'transB'], convert: gemm },
  MatMul: { attributes: [], convert: (ctx) => dense(ctx, false, 1, 1) },
};
