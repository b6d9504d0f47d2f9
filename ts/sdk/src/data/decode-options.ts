/**
 * What image decoding produces and accepts, shared by the Node decoder
 * (decode-image.node.ts, sharp) and the browser one (decode-image.browser.ts).
 */
import { ConfigError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';

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

export function checkImageShape(shape: Shape3, where: string): void {
  const [h, w, c] = shape;
  if (![h, w].every((v) => Number.isInteger(v) && v >= 1 && v <= 16384)) throw new ConfigError(`${where}: image height and width must be integers in 1..16384, got [${shape.join(', ')}]`);
  if (c !== 1 && c !== 3) throw new ConfigError(`${where}: channels must be 1 (grayscale) or 3 (RGB), got ${c}`);
}

