/** Add and Mul of two computed tensors (Mul: of one shape, or a [n, c, 1, 1] scale), Mean of two or more, and Concat along the channel (or feature) axis. */
import { Add, Average, Concatenate, Multiply } from '../../../../layers/merge.js';
import type { NodeContext } from '../context.js';
import type { FlatOrder } from '../../../layouts.js';
import type { OpTable } from '../op-row.js';
import { sameLayout, type TensorValue, type Value } from '../values.js';

function sameOrder(a: FlatOrder | null, b: FlatOrder | null): boolean {
  return a === b || (a !== null && b !== null && a.c === b.c && a.h === b.h && a.w === b.w);
}

function inputs(ctx: NodeContext): TensorValue[] {
  const xs = ctx.node.inputs.map((_, i) => ctx.tensor(i));
  const first = xs[0]!;
  for (const x of xs) {
    if (x.rank !== first.rank || !sameOrder(x.flatOrder, first.flatOrder)) throw ctx.error(`inputs must have the same rank and layout (got ranks ${xs.map((v) => v.rank).join(', ')})`);
  }
  return xs;
}

/** The two inputs of a binary node, computed tensors of one rank and layout; a constant is refused with `constant(i)`. */
function twoComputed(ctx: NodeContext, constant: (i: number) => string): TensorValue[] {
  if (ctx.inputCount !== 2) throw ctx.error(`expected 2 inputs, got ${ctx.inputCount}`);
  for (let i = 0; i < 2; i++) {
    if (ctx.inputKind(i) === 'constant') throw ctx.error(constant(i));
  }
  return inputs(ctx);
}

function add(ctx: NodeContext): Value[] {
  const xs = twoComputed(ctx, (i) => `adding a constant (input ${i}) is supported only as the bias right after a MatMul`);
  return [sameLayout(xs[0]!, ctx.addLayer((name) => new Add({ name }), xs.map((x) => x.tensor)))];
}

/** Mul of two computed tensors: a squeeze-and-excitation gate (`[n, c, 1, 1]` times `[n, c, h, w]`) or of one shape (Multiply checks which). */
function mul(ctx: NodeContext): Value[] {
  const xs = twoComputed(ctx, (i) => `multiplying by a constant (input ${i}) is not supported: both inputs must be computed from the network's input`);
  return [sameLayout(xs[0]!, ctx.addLayer((name) => new Multiply({ name }), xs.map((x) => x.tensor)))];
}

/** ONNX Mean (variadic): one input is itself; constants are not layers here. */
function mean(ctx: NodeContext): Value[] {
  for (let i = 0; i < ctx.inputCount; i++) {
    if (ctx.inputKind(i) === 'constant') throw ctx.error(`averaging a constant (input ${i}) is not supported: every input must be computed from the network's input`);
  }
  const xs = inputs(ctx);
  if (xs.length === 1) return [xs[0]!];
  return [sameLayout(xs[0]!, ctx.addLayer((name) => new Average({ name }), xs.map((x) => x.tensor)))];
}

function concat(ctx: NodeContext): Value[] {
  const xs = inputs(ctx);
  const rank = xs[0]!.rank;
  const axis = ctx.attrs.int('axis', 1);
  const channelAxis = rank === 4 ? axis === 1 || axis === -3 : (axis === 1 || axis === -1) && xs[0]!.flatOrder === null;
  if (!channelAxis) throw ctx.attrs.error('axis', `is ${axis} for rank-${rank} inputs; supported: the channel axis (1) of [n, c, h, w] or the feature axis of [n, features]`);
  if (xs.length === 1) return [xs[0]!];
  return [sameLayout(xs[0]!, ctx.addLayer((name) => new Concatenate({ name }), xs.map((x) => x.tensor)))];
}

export const mergeOps: OpTable = {
  Add: { attributes: [], convert: add },
  Mean: { attributes: [], convert: mean },
  Mul: { attributes: [], convert: mul },
  Concat: { attributes: ['axis'], convert: concat },
};
