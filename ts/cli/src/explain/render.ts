/**
 * Pixels for `lite-cnn explain`: the feature-map grid, nearest-neighbour
 * enlargement of coarse maps, and PNG encoding (sharp). Display only: the
 * maps themselves, their colours and the overlay come from the SDK.
 */
import sharp from 'sharp';
import { featureMapGrid, type FeatureGrid } from '@lite-cnn/sdk';

/** Tiles are enlarged (nearest neighbour, integer factor) until their longer side reaches this many pixels. */
export const TILE_TARGET = 64;
/** The raw heatmap PNG is enlarged (nearest neighbour, integer factor) until its longer side reaches this many pixels. */
export const HEATMAP_TARGET = 256;
/**
 * Separators between the tiles of a feature grid: a blue no grey tile can
 * contain, so tiles stay apart even where neighbours share a shade. Empty
 * cells (after the last channel) are a lighter blue-grey.
 */
const SEPARATOR = [45, 105, 190] as const;
const EMPTY = [200, 210, 225] as const;

/** The integer factor that brings a `h × w` map's longer side to at least `target` pixels (1 when it already is). */
export function scaleFor(h: number, w: number, target: number): number {
  return Math.max(1, Math.ceil(target / Math.max(h, w)));
}

/** `[h, w, channels]` bytes enlarged `s` times in each direction by repeating pixels (crisp cells). */
export function enlarge(pixels: Uint8Array | Uint8ClampedArray, h: number, w: number, channels: number, s: number): Uint8Array {
  const W = w * s;
  const out = new Uint8Array(h * s * W * channels);
  for (let y = 0; y < h * s; y++) {
    const row = Math.floor(y / s) * w;
    for (let x = 0; x < W; x++) {
      const src = (row + Math.floor(x / s)) * channels;
      const dst = (y * W + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = pixels[src + c]!;
    }
  }
  return out;
}

/**
 * One sample's feature maps `[h, w, c]` as a grid of grey tiles (the SDK's
 * `featureMapGrid`: per-channel min-max normalization, ⌈√c⌉ columns), tiles
 * enlarged to about TILE_TARGET pixels, blue separators. RGBA, opaque.
 */
export function featureGrid(maps: Float32Array, h: number, w: number, c: number): FeatureGrid {
  return featureMapGrid(maps, [h, w, c], {
    colormap: 'gray',
    scale: scaleFor(h, w, TILE_TARGET),
    gap: 1,
    separator: [...SEPARATOR, 255],
    empty: [...EMPTY, 255],
  });
}

/** Raw pixels (3 RGB, or 4 opaque RGBA channels, written as RGB) as PNG bytes. */
export async function encodePng(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 3 | 4): Promise<Uint8Array> {
  const raw = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  let img = sharp(raw, { raw: { width, height, channels } });
  // The SDK's colour maps and overlays are opaque: their alpha would only cost bytes.
  if (channels === 4) img = img.removeAlpha();
  const png = await img.png({ compressionLevel: 9 }).toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
