/**
 * Decoding many image files at once (any host: the single-image decoder is
 * decode-image.node.ts in Node and decode-image.browser.ts in browsers).
 */
import { ConfigError, DataError } from '../errors.js';
import { decodeImage } from './decode-image.node.js';
import { checkImageShape, type DecodedImages, type DecodeManyOptions, type DecodeOptions, type SkippedImage } from './decode-options.js';

export { decodeImage };
export { checkImageShape, type AspectPolicy, type BadImagePolicy, type DecodeOptions, type DecodeManyOptions, type DecodedImages, type SkippedImage } from './decode-options.js';

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
