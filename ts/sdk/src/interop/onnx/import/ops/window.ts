/**
 * The sliding-window attributes Conv, MaxPool and AveragePool share:
 * kernel_shape, strides, pads, auto_pad and dilations (which must be 1).
 */
import type { Padding } from '../../../../layers/shape.js';
import type { NodeContext } from '../context.js';

export const WINDOW_ATTRIBUTES = ['auto_pad', 'dilations', 'kernel_shape', 'pads', 'strides'] as const;

export interface Window {
  size: [number, number];
  strides: [number, number];
  padding: Padding;
}

function pairOf(ctx: NodeContext, name: string, fallback: [number, number]): [number, number] {
  const v = ctx.attrs.ints(name);
  if (v === undefined) return fallback;
  if (v.length !== 2 || v.some((d) => d < 1)) throw ctx.attrs.error(name, `must be 2 positive integers (2-D windows only), got [${v.join(', ')}]`);
  return [v[0]!, v[1]!];
}

/** The window of a node over an input of `[h, w]`; `size` comes from the weights for Conv, from kernel_shape for pooling. */
export function readWindow(ctx: NodeContext, input: readonly [number, number], size?: [number, number]): Window {
  const kernelShape = ctx.attrs.ints('kernel_shape');
  if (size && kernelShape && (kernelShape.length !== 2 || kernelShape[0] !== size[0] || kernelShape[1] !== size[1])) {
    throw ctx.attrs.error('kernel_shape', `is [${kernelShape.join(', ')}] but the weights are ${size[0]}x${size[1]}`);
  }
  if (!size && !kernelShape) throw ctx.error(`attribute 'kernel_shape' is required`);
  const window = size ?? pairOf(ctx, 'kernel_shape', [1, 1]);
  const dilations = pairOf(ctx, 'dilations', [1, 1]);
  if (dilations[0] !== 1 || dilations[1] !== 1) throw ctx.attrs.error('dilations', `is [${dilations.join(', ')}]; only dilation 1 is supported`);
  const strides = pairOf(ctx, 'strides', [1, 1]);
  return { size: window, strides, padding: readPadding(ctx, input, window, strides) };
}

function readPadding(ctx: NodeContext, input: readonly [number, number], size: [number, number], strides: [number, number]): Padding {
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const pads = ctx.attrs.ints('pads');
  if (autoPad !== 'NOTSET' && pads) throw ctx.attrs.error('pads', `cannot be given with auto_pad '${autoPad}'`);
  switch (autoPad) {
    case 'NOTSET': {
      if (!pads) return 'valid';
      if (pads.length !== 4 || pads.some((p) => p < 0)) throw ctx.attrs.error('pads', `must be 4 non-negative integers [top, left, bottom, right], got [${pads.join(', ')}]`);
      return { top: pads[0]!, left: pads[1]!, bottom: pads[2]!, right: pads[3]! };
    }
    case 'VALID':
      return 'valid';
    case 'SAME_UPPER':
    case 'SAME_LOWER': {
      // ONNX: total = max((ceil(in / s) - 1)·s + k - in, 0); SAME_UPPER puts the odd cell at the end.
      const split = (axis: 0 | 1): [number, number] => {
        const total = Math.max((Math.ceil(input[axis] / strides[axis]) - 1) * strides[axis] + size[axis] - input[axis], 0);
        const small = Math.floor(total / 2);
        return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      };
      const [top, bottom] = split(0);
      const [left, right] = split(1);
      return { top, bottom, left, right };
    }
    default:
      throw ctx.attrs.error('auto_pad', `is '${autoPad}'; supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
  }
}
