/**
 * A layer's feature maps as one picture: each channel a tile, min-max
 * normalized on its own (a constant channel, e.g. a dead ReLU, is the
 * colormap's lowest colour), laid out in a near-square grid (⌈√c⌉ columns)
 * with separators, optionally enlarged by an integer factor (nearest
 * neighbour, so coarse maps stay crisp). Used by `lite-cnn explain` (PNG)
 * and the browser example (ImageData) alike.
 */
import { ShapeError } from '../errors.js';
import { heatmapToRgba, type ColormapName } from './colormap.js';

export interface FeatureGridOptions {
  /** 'gray' (default), or a heatmap colormap. */
  colormap?: 'gray' | ColormapName;
  /** Integer enlargement of each tile (default 1). */
  scale?: number;
  /** Pixels between tiles (default 1). */
  gap?: number;
  /** RGBA of the gaps (default transparent). */
  separator?: readonly [number, number, number, number];
  /** RGBA of grid cells after the last channel (default transparent). */
  empty?: readonly [number, number, number, number];
}

export interface FeatureGrid {
  /** `height × width × 4` bytes. */
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  rows: number;
  cols: number;
  scale: number;
}

/** `maps` is one sample's `[h, w, c]` activations (NHWC, channel innermost). */
export function featureMapGrid(maps: ArrayLike<number>, shape: readonly [number, number, number], options: FeatureGridOptions = {}): FeatureGrid {
  const [h, w, c] = shape;
  if (!(h >= 1 && w >= 1 && c >= 1) || maps.length !== h * w * c) {
    throw new ShapeError(`featureMapGrid: expected ${h}·${w}·${c} values for shape [${shape.join(', ')}], got ${maps.length}`);
  }
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || !Number.isInteger(gap) || gap < 0) {
    throw new ShapeError(`featureMapGrid: scale must be an integer >= 1 and gap an integer >= 0, got ${scale} and ${gap}`);
  }
  const cols = Math.ceil(Math.sqrt(c));
  const rows = Math.ceil(c / cols);
  const [th, tw] = [h * scale, w * scale];
  const width = cols * (tw + gap) - gap;
  const height = rows * (th + gap) - gap;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const fill = (rgbaValue: readonly number[] | undefined, x0: number, y0: number, x1: number, y1: number) => {
    if (!rgbaValue) return;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) rgba.set(rgbaValue, (y * width + x) * 4);
  };
  fill(options.separator, 0, 0, width, height);
  const tile = new Float32Array(h * w);
  for (let k = 0; k < rows * cols; k++) {
    const x0 = (k % cols) * (tw + gap);
    const y0 = Math.floor(k / cols) * (th + gap);
    if (k >= c) {
      fill(options.empty ?? [0, 0, 0, 0], x0, y0, x0 + tw, y0 + th);
      continue;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < h * w; p++) {
      const v = maps[p * c + k]!;
      tile[p] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let p = 0; p < h * w; p++) tile[p] = span > 0 ? (tile[p]! - lo) / span : 0;
    const colours = options.colormap && options.colormap !== 'gray' ? heatmapToRgba(tile, { colormap: options.colormap }) : grey(tile);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const src = (Math.floor(y / scale) * w + Math.floor(x / scale)) * 4;
        rgba.set(colours.subarray(src, src + 4), ((y0 + y) * width + x0 + x) * 4);
      }
    }
  }
  return { rgba, width, height, rows, cols, scale };
}

function grey(values: Float32Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(255 * values[i]!);
    out[i * 4] = v;
    out[i * 4 + 1] = v;
    out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
  return out;
}
