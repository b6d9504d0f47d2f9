/**
 * Colours for displaying maps: pure functions producing RGBA bytes, usable as
 * browser `ImageData` (`new ImageData(rgba, w, h)`) or as raw pixels for
 * sharp in Node (`sharp(rgba, { raw: { width, height, channels: 4 } })`).
 * No canvas, no DOM.
 */
import { ConfigError, ShapeError } from '../errors.js';

export type ColormapName = 'jet' | 'viridis';

export interface ColormapOptions {
  /** Default 'jet' (the Grad-CAM paper's figures); 'viridis' is perceptually uniform and colour-blind safe. */
  colormap?: ColormapName;
}

/**
 * matplotlib's `jet` as its piecewise-linear segment data (x, value) per
 * channel: dark blue → blue → cyan → yellow → red → dark red.
 */
const JET: readonly (readonly [number, number][])[] = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];

/**
 * matplotlib's `viridis` (CC0, van der Walt & Smith): every 8th of its 256
 * entries plus the last, as 0-255 RGB, interpolated linearly; within 2 levels
 * of the full table everywhere.
 */
const VIRIDIS_STEP = 8;
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 13, 96], [72, 24, 106], [72, 35, 116], [71, 45, 123], [69, 55, 129], [66, 64, 134], [62, 73, 137],
  [59, 82, 139], [55, 91, 141], [51, 99, 141], [47, 107, 142], [44, 114, 142], [41, 122, 142], [38, 130, 142], [35, 137, 142],
  [33, 145, 140], [31, 152, 139], [31, 160, 136], [34, 167, 133], [40, 174, 128], [50, 182, 122], [63, 188, 115], [78, 195, 107],
  [94, 201, 98], [112, 207, 87], [132, 212, 75], [152, 216, 62], [173, 220, 48], [194, 223, 35], [216, 226, 25], [236, 229, 27],
  [253, 231, 37],
];

function jet(v: number, out: Uint8ClampedArray, at: number): void {
  for (let ch = 0; ch < 3; ch++) {
    const seg = JET[ch]!;
    let i = 1;
    while (i < seg.length - 1 && v > seg[i]![0]) i++;
    const [x0, y0] = seg[i - 1]!;
    const [x1, y1] = seg[i]!;
    out[at + ch] = Math.round(255 * (y0 + ((y1 - y0) * (v - x0)) / (x1 - x0)));
  }
}

function viridis(v: number, out: Uint8ClampedArray, at: number): void {
  const pos = v * 255;
  const i = Math.min(Math.floor(pos / VIRIDIS_STEP), VIRIDIS.length - 2);
  const lo = i * VIRIDIS_STEP;
  const hi = Math.min(lo + VIRIDIS_STEP, 255);
  const f = (pos - lo) / (hi - lo);
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  for (let ch = 0; ch < 3; ch++) out[at + ch] = Math.round(a[ch]! + (b[ch]! - a[ch]!) * f);
}

function painter(name: ColormapName | undefined): typeof jet {
  switch (name ?? 'jet') {
    case 'jet':
      return jet;
    case 'viridis':
      return viridis;
    default:
      throw new ConfigError(`heatmapToRgba: unknown colormap '${String(name)}', expected 'jet' or 'viridis'`);
  }
}

/** Values clamped to [0, 1]; NaN counts as 0 (nothing to show). */
function unit(v: number): number {
  return v > 0 ? (v < 1 ? v : 1) : 0;
}

/**
 * A map of values in [0, 1] (e.g. `GradCamMap.normalized`) as opaque RGBA
 * pixels `[H·W·4]`. Values outside [0, 1] are clamped: normalize raw maps
 * first (`normalizeMax`).
 */
export function heatmapToRgba(map: ArrayLike<number>, options: ColormapOptions = {}): Uint8ClampedArray {
  const paint = painter(options.colormap);
  const out = new Uint8ClampedArray(map.length * 4);
  for (let i = 0; i < map.length; i++) {
    paint(unit(map[i]!), out, i * 4);
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * The map's colours blended over an image: `(1 − alpha)·image + alpha·colour`
 * per pixel, opaque RGBA `[H·W·4]`. `image` has 1 (grey), 3 (RGB) or 4 (RGBA,
 * e.g. `ImageData.data`; its alpha is ignored) bytes per pixel of the map.
 */
export function overlay(image: Uint8Array | Uint8ClampedArray, map: ArrayLike<number>, alpha: number, options: ColormapOptions = {}): Uint8ClampedArray {
  if (!(alpha >= 0 && alpha <= 1)) throw new ConfigError(`overlay: alpha must be in [0, 1], got ${alpha}`);
  const pixels = map.length;
  const channels = pixels > 0 ? image.length / pixels : 0;
  if (pixels === 0 || (channels !== 1 && channels !== 3 && channels !== 4)) {
    throw new ShapeError(`overlay: expected an image of ${pixels} pixels × 1, 3 or 4 channels (${pixels}, ${pixels * 3} or ${pixels * 4} bytes) to match the map, got ${image.length} bytes`);
  }
  const out = heatmapToRgba(map, options);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const base = image[p * channels + (channels === 1 ? 0 : ch)]!;
      out[p * 4 + ch] = Math.round((1 - alpha) * base + alpha * out[p * 4 + ch]!);
    }
  }
  return out;
}
