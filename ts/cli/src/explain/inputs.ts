/**
 * Image files for `lite-cnn explain`, decoded twice by the SDK:
 *
 * - at the model's input size (squash, as `predict` and training read
 *   images), then stain-normalized and preprocessed as the model file says
 *   by the SDK's wasm kernels: what the network sees;
 * - as RGB at the file's own size, for drawing the heatmap over (capped at
 *   MAX_SIDE pixels on the longer side, aspect ratio kept).
 *
 * Decoding errors are the SDK's DataErrors naming the file.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError, decodeImage, decodeImages, defaultEngine, normalizeStains, WasmImageTransformer, type Model, type TensorLike } from '@lite-cnn/sdk';

/** The longer side of an overlay: larger originals are drawn scaled down to this. */
export const MAX_SIDE = 4096;

export interface ModelInputs {
  /** `[n, h, w, c]` uint8, the images at the model's input size (stain-normalized when the model says so) before preprocessing. */
  images: Uint8Array;
  /** Preprocesses images `[start, end)` into the model's input tensor. */
  tensor(start: number, end: number): TensorLike;
  free(): void;
}

/** Every file decoded to the model's input size up front, so an unreadable file fails before anything is written. */
export async function decodeForModel(paths: readonly string[], model: Model): Promise<ModelInputs> {
  const shape = model.inputShape;
  const per = shape[0] * shape[1] * shape[2];
  const decoded = await decodeImages(paths, { shape, onBadImage: 'fail' });
  const engine = await defaultEngine();
  const { images } = await normalizeStains(decoded.images, shape, model.metadata.stainNormalization, { engine });
  const transformer = new WasmImageTransformer(engine, { preprocessing: model.metadata.preprocessing, seed: model.seed });
  return {
    images,
    tensor: (start, end) => ({
      data: transformer.transform({ images: images.subarray(start * per, end * per), shape }),
      shape: [end - start, ...shape],
    }),
    free: () => transformer.free(),
  };
}

/** `[height, width]` of an image file as stored (EXIF orientation not applied, as the SDK's decoder does). */
export async function storedSize(path: string): Promise<[number, number]> {
  try {
    const meta = await sharp(path).metadata();
    if (meta.width && meta.height) return [meta.height, meta.width];
  } catch {
    // sharp's prebuilt libvips cannot read BMP, which the SDK decodes itself: read its header.
  }
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new DataError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  });
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    const header = bytes.readUInt32LE(14);
    // BITMAPCOREHEADER (12 bytes) stores 16-bit sizes; every later header 32-bit, height negative when top-down.
    if (header === 12) return [bytes.readUInt16LE(20), bytes.readUInt16LE(18)];
    return [Math.abs(bytes.readInt32LE(22)), bytes.readInt32LE(18)];
  }
  throw new DataError(`cannot read the size of ${path}: not an image sharp or the BMP reader understands`);
}

/** The overlay's size for an image of `[h, w]`: the same, or scaled down to MAX_SIDE on the longer side. */
export function overlaySize([h, w]: [number, number]): [number, number] {
  const longer = Math.max(h, w);
  if (longer <= MAX_SIDE) return [h, w];
  return [Math.max(1, Math.round((h * MAX_SIDE) / longer)), Math.max(1, Math.round((w * MAX_SIDE) / longer))];
}

/** The file as RGB bytes `[h, w, 3]` at `size` (grey images replicated), as the SDK decodes for RGB models. */
export function decodeRgb(path: string, size: [number, number]): Promise<Uint8Array> {
  return decodeImage(path, { shape: [size[0], size[1], 3] });
}
