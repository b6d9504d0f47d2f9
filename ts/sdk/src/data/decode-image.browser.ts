/**
 * Image decoding in browsers (main thread or Worker), with the platform's own
 * decoders: `createImageBitmap` decodes, crops and resizes, an
 * `OffscreenCanvas` hands back the pixels. Same contract as the Node decoder
 * (decode-image.node.ts): exactly `[h, w, c]` uint8, alpha dropped,
 * grayscale as luminance, BMP through bmp.ts. Unlike Node, the browser's
 * decoder applies EXIF orientation. Pixels match Node's exactly when no resize
 * is needed; resized images differ slightly (the browser's 'high' quality
 * filter is not libvips' bicubic), and translucent pixels go through the
 * canvas' premultiplied alpha. `input` is a URL (fetched) or encoded bytes.
 */
import { DataError } from '../errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import { checkImageShape, type DecodeOptions } from './decode-options.js';
import type * as NodeTwin from './decode-image.node.js';

/** ITU-R BT.601 luma weights (Pillow's convert('L')). */
const LUMA = [0.299, 0.587, 0.114] as const;

export async function decodeImage(input: string | Uint8Array, options: DecodeOptions, name?: string): Promise<Uint8Array> {
  checkImageShape(options.shape, 'decodeImage');
  const label = name ?? (typeof input === 'string' ? input : 'image bytes');
  const bad = (reason: string, cause?: unknown) => new DataError(`decodeImage: cannot decode ${label}: ${reason}`, cause === undefined ? undefined : { cause });
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw bad('expected createImageBitmap and OffscreenCanvas (a browser page or Worker), but this platform has neither');
  }
  const bytes = typeof input === 'string' ? await fetchBytes(input, bad) : input;
  const [h, w, c] = options.shape;
  let source: ImageBitmap;
  try {
    source = await createImageBitmap(isBmp(bytes) ? bmpImageData(bytes, label) : new Blob([bytes.slice()]), BITMAP_OPTIONS);
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw bad('not an image format this browser decodes', cause);
  }
  const [sx, sy, sw, sh] = sourceRect(source.width, source.height, w, h, options.aspect ?? 'squash');
  const sized = await createImageBitmap(source, sx, sy, sw, sh, { ...BITMAP_OPTIONS, resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
  source.close();
  const ctx = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw bad('no 2D canvas context available');
  ctx.drawImage(sized, 0, 0);
  sized.close();
  return fromRgba(ctx.getImageData(0, 0, w, h).data, c);
}

const BITMAP_OPTIONS: ImageBitmapOptions = { premultiplyAlpha: 'none', colorSpaceConversion: 'none' };

async function fetchBytes(url: string, bad: (reason: string, cause?: unknown) => DataError): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    throw bad('fetching it failed', cause);
  }
  if (!res.ok) throw bad(`fetching it failed: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function bmpImageData(bytes: Uint8Array, label: string): ImageData {
  const raw = decodeBmp(bytes, label);
  const rgba = new Uint8ClampedArray(raw.width * raw.height * 4);
  for (let p = 0; p < raw.width * raw.height; p++) {
    rgba.set(raw.data.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  return new ImageData(rgba, raw.width, raw.height);
}

/** The source rectangle [x, y, w, h]: all of it ('squash'), or the centred crop with the target's aspect ratio. */
function sourceRect(width: number, height: number, w: number, h: number, aspect: DecodeOptions['aspect']): [number, number, number, number] {
  if (aspect !== 'centerCrop') return [0, 0, width, height];
  if (width * h > height * w) {
    const cw = Math.max(1, Math.round((height * w) / h));
    return [Math.floor((width - cw) / 2), 0, cw, height];
  }
  const ch = Math.max(1, Math.round((width * h) / w));
  return [0, Math.floor((height - ch) / 2), width, ch];
}

function fromRgba(rgba: Uint8ClampedArray, channels: number): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    if (channels === 3) out.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
    else out[p] = Math.round(LUMA[0] * rgba[p * 4]! + LUMA[1] * rgba[p * 4 + 1]! + LUMA[2] * rgba[p * 4 + 2]!);
  }
  return out;
}

// The two builds must offer the same API: checked here, at compile time.
decodeImage satisfies typeof NodeTwin.decodeImage;
