/**
 * MaxPool, AveragePool (ceil_mode, count_include_pad) and GlobalAveragePool.
 * A 1x1 window with stride 1 and no pads (what torch exports for
 * AdaptiveAvgPool2d to the size it already has, e.g. VGG's at 224x224) is
 * the identity and adds no layer.
 */
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D } from '../../../../layers/pooling.js';
import type { NodeContext } from '../context.js';
import type { OpTable } from '../op-row.js';
import { sameLayout, type Value } from '../values.js';
import { readWindow, WINDOW_ATTRIBUTES, type Window } from './window.js';

function isIdentity(w: Window): boolean {
  return w.size.every((s) => s === 1) && w.strides.every((s) => s === 1) && (w.padding === 'valid' || Object.values(w.padding).every((p) => p === 0));
}

function pool(kind: 'max' | 'avg') {
  return (ctx: NodeContext): Value[] => {
    const x = ctx.tensor(0);
    if (x.rank !== 4) throw ctx.error(`input must be a 4-D [n, c, h, w] tensor, got rank ${x.rank}`);
    const window = readWindow(ctx, [x.tensor.shape[0], x.tensor.shape[1]]);
    if (isIdentity(window)) return [x];
    const ceilMode = ctx.attrs.int('ceil_mode', 0) !== 0;
    const args = { poolSize: window.size, strides: window.strides, padding: window.padding, ceilMode };
    const y =
      kind === 'max'
        ? ctx.addLayer((name) => new MaxPooling2D({ name, ...args }), [x.tensor])
        : ctx.addLayer((name) => new AveragePooling2D({ name, ...args, countIncludePad: ctx.attrs.int('count_include_pad', 0) !== 0 }), [x.tensor]);
    return [sameLayout(x, y)];
  };
}

function globalAverage(ctx: NodeContext): Value[] {
  const x = ctx.tensor(0);
  if (x.rank !== 4) throw ctx.error(`input must be a 4-D [n, c, h, w] tensor, got rank ${x.rank}`);
  // ONNX keeps [n, c, 1, 1]: still rank 4, held as [1, 1, c].
  return [sameLayout(x, ctx.addLayer((name) => new GlobalAveragePooling2D({ name }), [x.tensor]))];
}

export const poolOps: OpTable = {
  // MaxPool's second output (indices) and storage_order (their layout) stay unavailable.
  MaxPool: { attributes: [...WINDOW_ATTRIBUTES, 'ceil_mode', 'storage_order'], convert: pool('max') },
  AveragePool: { attributes: [...WINDOW_ATTRIBUTES, 'ceil_mode', 'count_include_pad'], convert: pool('avg') },
  GlobalAveragePool: { attributes: [], convert: globalAverage },
};
