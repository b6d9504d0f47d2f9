/**
 * Map post-processing for display: bilinear resizing and max-normalization.
 * Pure functions over row-major `[h, w]` single-channel maps.
 */
import { ShapeError } from '../errors.js';

/**
 * Bilinear resize of a `[h, w]` map to `[outH, outW]` with half-pixel
 * centres (OpenCV's `cv2.resize`, TF2 `tf.image.resize`, PyTorch
 * `align_corners=False`): output pixel `d` samples source coordinate
 * `(d + 0.5)·in/out − 0.5`, clamped to the edge. This is what the reference
 * Grad-CAM code uses to lay the coarse map over the image, and it keeps the
 * map centred (align-corners would shift it by up to half a source cell).
 */
export function resizeBilinear(map: ArrayLike<number>, h: number, w: number, outH: number, outW: number): Float32Array {
  for (const [what, v] of [['h', h], ['w', w], ['outH', outH], ['outW', outW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`resizeBilinear: ${what} must be a positive integer, got ${v}`);
  }
  if (map.length !== h * w) throw new ShapeError(`resizeBilinear: a [${h}, ${w}] map needs ${h * w} values, got ${map.length}`);
  const out = new Float32Array(outH * outW);
  const ys = axis(h, outH);
  const xs = axis(w, outW);
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1, fy] = ys[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const [x0, x1, fx] = xs[ox]!;
      const top = map[y0 * w + x0]! * (1 - fx) + map[y0 * w + x1]! * fx;
      const bottom = map[y1 * w + x0]! * (1 - fx) + map[y1 * w + x1]! * fx;
      out[oy * outW + ox] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Source neighbours and weight of each output coordinate along one axis. */
function axis(size: number, outSize: number): [lo: number, hi: number, frac: number][] {
  const scale = size / outSize;
  const out: [number, number, number][] = [];
  for (let d = 0; d < outSize; d++) {
    const src = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), size - 1);
    const lo = Math.floor(src);
    out.push([lo, Math.min(lo + 1, size - 1), src - lo]);
  }
  return out;
}

/**
 * `map / max(map)` (a copy): the largest value becomes 1. Grad-CAM maps are
 * non-negative (a ReLU is their last step), so the result is in [0, 1]. An
 * all-zero map — no position speaks for the class — stays all zero rather
 * than being stretched into noise (or NaN).
 */
export function normalizeMax(map: ArrayLike<number>): Float32Array {
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
  const out = new Float32Array(map.length);
  if (max > 0) for (let i = 0; i < map.length; i++) out[i] = Math.max(map[i]!, 0) / max;
  return out;
}
