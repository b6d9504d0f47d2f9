/**
 * Layout translation at the boundary (docs/architecture.md §8): lite-cnn keeps
 * NHWC activations, HWIO kernels and `[in, out]` dense kernels; ONNX and
 * PyTorch use NCHW, OIHW and `[out, in]`. The importer and every exporter
 * convert with these functions, once, so no two of them can disagree on a
 * layout: OIHW convolution kernels to and from HWIO, `[units, features]` or
 * `[features, units]` dense weights, and the row order of features that come
 * from flattening an NCHW tensor (flattened channel-major there, channel-minor
 * by lite-cnn's NHWC Flatten).
 */
import type { Conv2DConfig } from '../layers/conv2d.js';
import type { DepthwiseConv2DConfig } from '../layers/depthwise-conv2d.js';
import type { ExplicitPadding, Padding, Shape3 } from '../layers/shape.js';

/** `[kh, kw, cIn, cOut]` (Conv2D) → `[cOut, cIn, kh, kw]`. */
export function hwioToOihw(kernel: Float32Array, shape: readonly [number, number, number, number]): Float32Array {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = kernel[((y * kw + x) * ci + i) * co + o]!;
      }
    }
  }
  return out;
}

/**
 * `[kh, kw, c, m]` (DepthwiseConv2D, output channel `c·m + j`) → `[c·m, 1, kh,
 * kw]`: PyTorch's and ONNX's grouped-convolution weight with `groups = c`.
 */
export function depthwiseToOihw(kernel: Float32Array, shape: readonly [number, number, number, number]): Float32Array {
  const [kh, kw, c, m] = shape;
  // [kh, kw, c·m] is a Conv2D kernel with one input channel per group.
  return hwioToOihw(kernel, [kh, kw, 1, c * m]);
}

/** A convolution's kernel as ONNX's and PyTorch's weight: OIHW data, its dims and the group count (depthwise: the input channels). */
export function oihwKernel(config: Conv2DConfig | DepthwiseConv2DConfig, inputChannels: number, kernel: Float32Array): { data: Float32Array; dims: [number, number, number, number]; groups: number } {
  const [kh, kw] = config.kernelSize;
  if (config.kind === 'Conv2D') {
    return { data: hwioToOihw(kernel, [kh, kw, inputChannels, config.filters]), dims: [config.filters, inputChannels, kh, kw], groups: 1 };
  }
  const m = config.depthMultiplier;
  return { data: depthwiseToOihw(kernel, [kh, kw, inputChannels, m]), dims: [inputChannels * m, 1, kh, kw], groups: inputChannels };
}

/** `[rows, cols]` → `[cols, rows]` (a Dense kernel as PyTorch's Linear weight). */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/**
 * For the flat features of an `[h, w, c]` value: entry `k` in CHW order (what
 * flattening NCHW data gives) is entry `chwToHwc[k]` in HWC order (what
 * lite-cnn's Flatten gives).
 */
export function chwToHwcOrder(shape: Shape3): Uint32Array {
  const [h, w, c] = shape;
  const order = new Uint32Array(h * w * c);
  for (let r = 0; r < order.length; r++) order[nchwFeature(r, { c, h, w })] = r;
  return order;
}

/** The rows of a `[rows, cols]` matrix (or the entries of a vector, cols = 1) taken in `order`. */
export function permuteRows(a: Float32Array, order: Uint32Array, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  order.forEach((from, to) => out.set(a.subarray(from * cols, (from + 1) * cols), to * cols));
  return out;
}

/**
 * A window layer's padding as explicit pads for an input of `shape`: 'same' is
 * Keras' (total `max((out - 1)·stride + k - in, 0)`, the odd cell after), the
 * twin of `window_axis` in crates/kernels/src/geom.rs.
 */
export function resolvePads(padding: Padding, shape: Shape3, size: readonly [number, number], strides: readonly [number, number]): ExplicitPadding {
  if (padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (padding !== 'same') return padding;
  const axis = (input: number, k: number, s: number): [number, number] => {
    const total = Math.max((Math.ceil(input / s) - 1) * s + k - input, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [top, bottom] = axis(shape[0], size[0], strides[0]);
  const [left, right] = axis(shape[1], size[1], strides[1]);
  return { top, bottom, left, right };
}

export function isSymmetric(p: ExplicitPadding): boolean {
  return p.top === p.bottom && p.left === p.right;
}

/** Whether a value of this shape has no spatial extent (`[1, 1, n]`: lite-cnn's flat tensors). */
export function isFlatShape(shape: Shape3): boolean {
  return shape[0] === 1 && shape[1] === 1;
}

/** Where an ONNX flat feature came from: flattening a `[c, h, w]` tensor (h·w > 1). */
export interface FlatOrder {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/**
 * `[o, i, kh, kw]` → `[kh, kw, i, o]`. A depthwise kernel `[c·m, 1, kh, kw]`
 * becomes `[kh, kw, 1, c·m]`, which is the same memory as lite-cnn's
 * `[kh, kw, c, m]` (output channel `c·m + m'` in both).
 */
export function oihwToHwio(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x]!;
      }
    }
  }
  return out;
}

/**
 * A dense kernel `[features, units]` for lite-cnn from ONNX's B
 * (`[units, features]` when `transposed`), scaled by `alpha`, with row `r` of
 * the result taken from ONNX feature `c·h·w + y·w + x` where `r = (y·w + x)·c + ch`
 * when the input is a flattened NCHW tensor.
 */
export function denseKernel(b: Float32Array, features: number, units: number, transposed: boolean, alpha: number, order: FlatOrder | null): Float32Array {
  const out = new Float32Array(features * units);
  for (let r = 0; r < features; r++) {
    const f = order ? nchwFeature(r, order) : r;
    for (let u = 0; u < units; u++) out[r * units + u] = alpha * b[transposed ? u * features + f : f * units + u]!;
  }
  return out;
}

/** The ONNX (NCHW-flattened) feature index of lite-cnn's (NHWC-flattened) feature `r`. */
export function nchwFeature(r: number, order: FlatOrder): number {
  const ch = r % order.c;
  const pixel = (r - ch) / order.c;
  return ch * order.h * order.w + pixel;
}
