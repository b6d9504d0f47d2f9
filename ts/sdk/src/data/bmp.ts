/**
 * A minimal BMP reader. sharp's prebuilt libvips has no BMP loader (that goes
 * through ImageMagick, which it leaves out), so `.bmp` files in an image
 * folder are decoded here into raw pixels and handed to sharp for resizing.
 * Supported: uncompressed (BI_RGB) 8-bit palette, 24-bit and 32-bit images
 * (the 4th byte of BI_RGB 32-bit pixels is padding, not alpha), bottom-up
 * or top-down; others are a DataError naming the variant.
 */
import { DataError } from '../errors.js';

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // 'BM'
}

/** Decodes BMP bytes to RGB; `name` labels errors. */
export function decodeBmp(bytes: Uint8Array, name: string): RawImage {
  const fail = (what: string) => new DataError(`BMP ${name}: ${what}`);
  if (bytes.length < 54 || !isBmp(bytes)) throw fail(`expected a BMP header ('BM' and at least 54 bytes), got ${bytes.length} bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  if (headerSize < 40) throw fail(`expected a BITMAPINFOHEADER (40 bytes or more), got a ${headerSize}-byte header (OS/2 BMP)`);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  const height = Math.abs(rawHeight);
  if (width < 1 || height < 1 || width > 65535 || height > 65535) throw fail(`expected a size in 1..65535, got ${width} × ${height}`);
  if (compression !== 0 && !(compression === 3 && bpp === 32)) throw fail(`expected uncompressed pixels (BI_RGB), got compression ${compression}`);
  if (bpp !== 8 && bpp !== 24 && bpp !== 32) throw fail(`expected 8, 24 or 32 bits per pixel, got ${bpp}`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > bytes.length) throw fail(`truncated: expected ${dataOffset + stride * height} bytes, got ${bytes.length}`);
  let palette: Uint8Array | undefined;
  if (bpp === 8) {
    const colours = v.getUint32(46, true) || 256;
    const start = 14 + headerSize;
    if (start + colours * 4 > dataOffset) throw fail(`expected a palette of ${colours} colours before the pixels`);
    palette = bytes.subarray(start, start + colours * 4);
  }
  const out = new Uint8Array(width * height * 3);
  const bytesPer = bpp / 8;
  for (let y = 0; y < height; y++) {
    // Rows are stored bottom-up unless the height is negative.
    const row = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const p = bytes[row + x]! * 4;
        if (p + 2 >= palette.length) throw fail(`pixel (${x}, ${y}) uses colour ${p / 4}, beyond the ${palette.length / 4}-colour palette`);
        out[o] = palette[p + 2]!;
        out[o + 1] = palette[p + 1]!;
        out[o + 2] = palette[p]!;
      } else {
        const i = row + x * bytesPer;
        out[o] = bytes[i + 2]!;
        out[o + 1] = bytes[i + 1]!;
        out[o + 2] = bytes[i]!;
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}
