/**
 * Weight layouts from ONNX (PyTorch) to lite-cnn: OIHW convolution kernels
 * to HWIO, `[units, features]` or `[features, units]` dense weights to
 * `[features, units]`, with the rows reordered when the features come from
 * flattening an NCHW tensor (ONNX flattens channel-major, lite-cnn's NHWC
 * Flatten channel-minor).
 */

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
