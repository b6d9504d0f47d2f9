/** SVG to PNG in Node without a browser: sharp renders SVG through librsvg (fonts from fontconfig). */
import sharp from 'sharp';
import { ConfigError } from '@lite-cnn/sdk';

export interface SvgToPngOptions {
  /**
   * Pixels per SVG unit. Default 1: a 640x420 chart gives a 640x420 PNG.
   * 2 gives sharper images for documentation on high-density screens.
   */
  scale?: number;
}

/** A PNG of `svg` (opaque when the SVG paints its background, as the report charts do). */
export async function svgToPng(svg: string, options: SvgToPngOptions = {}): Promise<Buffer> {
  const s = options.scale ?? 1;
  if (!(Number.isFinite(s) && s > 0 && s <= 8)) {
    throw new ConfigError(`svgToPng: expected scale in (0, 8], got ${String(s)}`);
  }
  // librsvg takes the SVG's width/height at 72 dpi as the pixel size; density scales it.
  // compressionLevel 9: the charts are flat colours, so this is cheap and halves the files.
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * s })
    .png({ compressionLevel: 9 })
    .toBuffer();
}
