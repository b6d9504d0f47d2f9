/**
 * Image decoding in Node, with sharp/libvips (the browser build uses
 * decode-image.browser.ts instead): any PNG, JPEG,
 * TIFF or BMP file to exactly `[h, w, c]` uint8, with every conversion chosen
 * explicitly rather than left to a library default:
 *
 * - **size**: `aspect: 'squash'` resizes to h × w ignoring the aspect ratio
 *   (what the study did: BreakHis' 700×460 fields squeezed to 224×224);
 *   `'centerCrop'` scales the shorter side to fit and crops the centre.
 *   Resampling is bicubic (Catmull-Rom), the filter Pillow used in the study.
 * - **channels**: 1 = grayscale (luminance), 3 = sRGB; grey inputs are
 *   replicated to RGB when 3 are asked for.
 * - **alpha** is dropped (the colour values are kept as they are), which is
 *   what Pillow's `convert('RGB')` — and so Keras' `load_img` — does.
 * - **CMYK** is converted to sRGB (through the embedded ICC profile, or
 *   libvips' default CMYK profile when there is none) rather than rejected:
 *   scanners and print workflows write CMYK JPEGs of perfectly good images.
 * - **16-bit** images are resized in 16 bits, then reduced to 8 bits by
 *   rounding `v · 255 / 65535` (not by truncating `v >> 8`, libvips' default,
 *   nor by clipping at 255, Pillow's). Other sample types (float or 32-bit
 *   TIFF) are rejected: their value range is not self-describing.
 * - **EXIF orientation** is not applied, like Pillow/Keras.
 * - **BMP** is read by bmp.ts (sharp's prebuilt libvips cannot load it).
 *
 * A file that cannot be decoded (missing, truncated, not an image, an
 * unsupported format) is a DataError naming the path. libvips is asked to
 * fail on warnings too, so a truncated JPEG is never decoded half grey.
 * `sharp` is an optional peer dependency, imported on first use: an app
 * that never decodes in Node does not need it installed.
 */
import { DataError } from '../errors.js';
import { describeFsError } from '../io/fs-errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import { checkImageShape, type DecodeOptions } from './decode-options.js';
import { requireNode } from './samples.js';

type Sharp = typeof import('sharp');
let sharpModule: Promise<Sharp> | undefined;

async function loadSharp(): Promise<Sharp> {
  requireNode('decodeImage');
  sharpModule ??= import('sharp').then(
    (m) => ((m as unknown as { default?: Sharp }).default ?? m) as Sharp,
    (cause: unknown) => {
      sharpModule = undefined;
      throw new DataError("decodeImage: expected the npm package 'sharp' (an optional dependency of @lite-cnn/sdk that decodes images in Node), but it could not be loaded: run `npm install sharp`", { cause });
    },
  );
  return sharpModule;
}

async function readImageFile(file: string, bad: (reason: string, cause?: unknown) => DataError): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(file);
  } catch (cause) {
    throw bad(describeFsError(cause), cause);
  }
}

/** Decodes one image file (or encoded bytes) to `[h, w, c]` uint8; `name` labels bytes in errors. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions, name?: string): Promise<Uint8Array> {
  checkImageShape(options.shape, 'decodeImage');
  const sharp = await loadSharp();
  const label = name ?? (typeof input === 'string' ? input : 'image bytes');
  const [h, w, c] = options.shape;
  const bad = (reason: string, cause?: unknown) => new DataError(`decodeImage: cannot decode ${label}: ${reason}`, cause === undefined ? undefined : { cause });
  try {
    // Read here, not by libvips: an unreadable file is then named as such (EACCES, ELOOP, ENOENT), not as "unsupported format".
    const bytes = typeof input === 'string' ? await readImageFile(input, bad) : input;
    let img = isBmp(bytes)
      ? (() => {
          const raw = decodeBmp(bytes, label);
          return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
        })()
      : sharp(bytes, { failOn: 'warning' });
    const meta = await img.metadata();
    const depth = meta.depth ?? 'uchar';
    if (depth !== 'uchar' && depth !== 'ushort') throw bad(`expected 8- or 16-bit samples, got '${depth}'`);
    const wide = depth === 'ushort';
    if (meta.hasAlpha) {
      // sharp removes alpha after resizing, and resizes premultiplied, which
      // shifts the colours of translucent pixels; so drop alpha first, in a
      // separate lossless pass (uncompressed PNG keeps 8 or 16 bits).
      img = sharp(await img.removeAlpha().png({ compressionLevel: 0 }).toBuffer());
    }
    img.resize(w, h, { fit: (options.aspect ?? 'squash') === 'squash' ? 'fill' : 'cover', position: 'centre', kernel: 'cubic' });
    img.toColourspace(c === 1 ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb');
    const { data, info } = await img.raw(wide ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    if (info.width !== w || info.height !== h || info.channels !== c) {
      throw bad(`expected [${h}, ${w}, ${c}] after conversion, got [${info.height}, ${info.width}, ${info.channels}]`);
    }
    const out = new Uint8Array(h * w * c);
    if (wide) {
      const v = new Uint16Array(data.buffer, data.byteOffset, out.length);
      for (let i = 0; i < out.length; i++) out[i] = Math.round((v[i]! * 255) / 65535);
    } else {
      out.set(data.subarray(0, out.length));
    }
    return out;
  } catch (err) {
    if (err instanceof DataError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw bad(msg.replace(/\s+$/, ''), err);
  }
}

