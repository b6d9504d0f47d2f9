/**
 * Image decoding for the pipeline (Node, with sharp/libvips): any PNG, JPEG,
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
 * `sharp` is imported dynamically so the SDK bundle still loads in browsers.
 */
import { ConfigError, DataError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { describeFsError } from '../io/fs-errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import { requireNode } from './samples.js';

export type AspectPolicy = 'squash' | 'centerCrop';
export type BadImagePolicy = 'skip' | 'fail';

export interface DecodeOptions {
  /** Output `[height, width, channels]`; channels 1 (grayscale) or 3 (RGB). */
  shape: Shape3;
  /** Default 'squash' (the study's choice). */
  aspect?: AspectPolicy;
}

export interface DecodeManyOptions extends DecodeOptions {
  /** 'fail' (default): the first bad file throws. 'skip': bad files are left out and listed in `skipped`. */
  onBadImage?: BadImagePolicy;
  /** Files decoded at once (default 4, libuv's thread-pool size: sharp decodes on those threads). */
  concurrency?: number;
  /** Called after each file with the number done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface SkippedImage {
  path: string;
  reason: string;
}

export interface DecodedImages {
  /** The kept images, `[kept.length, h, w, c]` uint8. */
  images: Uint8Array;
  /** Index (into the input paths) of each image in `images`. */
  kept: number[];
  /** Files left out (onBadImage 'skip'); always reported, so nothing vanishes silently. */
  skipped: SkippedImage[];
}

type Sharp = typeof import('sharp');
let sharpModule: Promise<Sharp> | undefined;

async function loadSharp(): Promise<Sharp> {
  requireNode('decodeImage');
  sharpModule ??= import('sharp').then(
    (m) => ((m as unknown as { default?: Sharp }).default ?? m) as Sharp,
    (cause: unknown) => {
      sharpModule = undefined;
      throw new DataError("decodeImage: expected the npm package 'sharp' (it decodes images in Node), but it could not be loaded: run `npm install sharp`", { cause });
    },
  );
  return sharpModule;
}

export function checkImageShape(shape: Shape3, where: string): void {
  const [h, w, c] = shape;
  if (![h, w].every((v) => Number.isInteger(v) && v >= 1 && v <= 16384)) throw new ConfigError(`${where}: image height and width must be integers in 1..16384, got [${shape.join(', ')}]`);
  if (c !== 1 && c !== 3) throw new ConfigError(`${where}: channels must be 1 (grayscale) or 3 (RGB), got ${c}`);
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

/**
 * Decodes many files into one uint8 buffer, `concurrency` at a time; the
 * buffer keeps input order (skipped files leave no hole). With
 * `onBadImage: 'fail'` the first bad file throws its DataError.
 */
export async function decodeImages(paths: readonly string[], options: DecodeManyOptions): Promise<DecodedImages> {
  checkImageShape(options.shape, 'decodeImages');
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`decodeImages: concurrency must be an integer >= 1, got ${concurrency}`);
  const policy = options.onBadImage ?? 'fail';
  if (policy !== 'skip' && policy !== 'fail') throw new ConfigError(`decodeImages: onBadImage must be 'skip' or 'fail', got '${String(policy)}'`);
  const per = options.shape[0] * options.shape[1] * options.shape[2];
  const images = new Uint8Array(paths.length * per);
  const ok = new Uint8Array(paths.length);
  const reasons = new Map<number, string>();
  const single: DecodeOptions = { shape: options.shape, ...(options.aspect ? { aspect: options.aspect } : {}) };
  let next = 0;
  let done = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < paths.length) {
      const i = next++;
      try {
        images.set(await decodeImage(paths[i]!, single), i * per);
        ok[i] = 1;
      } catch (err) {
        if (policy === 'fail' || !(err instanceof DataError)) failure ??= err;
        else reasons.set(i, err.message);
      }
      done++;
      options.onProgress?.(done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  if (failure !== undefined) throw failure;
  // Compact in place: kept images move down over the holes of skipped ones.
  const kept: number[] = [];
  const skipped: SkippedImage[] = [];
  for (let i = 0; i < paths.length; i++) {
    if (ok[i]) {
      if (kept.length !== i) images.copyWithin(kept.length * per, i * per, (i + 1) * per);
      kept.push(i);
    } else {
      skipped.push({ path: paths[i]!, reason: reasons.get(i) ?? 'not decoded' });
    }
  }
  // A view, not a copy: the few skipped slots at the end cost less than a second buffer.
  return { images: images.subarray(0, kept.length * per), kept, skipped };
}
