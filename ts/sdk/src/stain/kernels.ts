/**
 * The stain kernels over images in JS memory: per-image parameters
 * (`lc_stain_fit`) and in-place normalization (`lc_stain_normalize`), run on
 * chunks of images copied into wasm memory so that memory stays bounded.
 */
import { ShapeError } from '../errors.js';
import { structBytes, writeStruct, type StructValues } from '../exec/abi.js';
import type { Shape3 } from '../layers/shape.js';
import type { StainNormalizationKind } from '../model/metadata.js';
import type { Engine } from '../runtime/engine.js';
import { FIT_ROW, STAIN_ARGS, STAIN_PARAMS, StainMethodCode } from './abi.js';

/** Images per kernel call: bounds the wasm memory a call needs (64 BreakHis tiles are 9.6 MB). */
const CHUNK_IMAGES = 64;

function checkImages(images: Uint8Array, shape: Shape3, what: string): number {
  const [h, w, c] = shape;
  if (c !== 3) throw new ShapeError(`${what}: stain normalization needs RGB images (3 channels), got shape [${shape.join(', ')}]`);
  const per = h * w * c;
  if (!(images instanceof Uint8Array) || per <= 0 || images.length % per !== 0) {
    throw new ShapeError(`${what}: expected a Uint8Array of n × ${h} × ${w} × 3 values, got ${images?.length} values`);
  }
  return images.length / per;
}

/** Runs `call(argsPtr, outPtr)` on each chunk of images (copied in, and back when `writeBack`). */
function overChunks(
  engine: Engine,
  images: Uint8Array,
  shape: Shape3,
  opts: { method: StainNormalizationKind; target: readonly number[]; outPerImage: number; writeBack: boolean; name: string; call: (argsPtr: number) => number },
): Uint8Array {
  const n = checkImages(images, shape, opts.name);
  const per = shape[0] * shape[1] * 3;
  const heap = engine.memory;
  const outAll = new Uint8Array(n * opts.outPerImage * 4);
  const chunk = Math.min(CHUNK_IMAGES, n);
  const argsPtr = heap.alloc(structBytes(STAIN_ARGS), 16);
  const imgPtr = heap.alloc(chunk * per, 16);
  const outPtr = heap.alloc(chunk * opts.outPerImage * 4, 16);
  try {
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      heap.u8(imgPtr, m * per).set(images.subarray(start * per, (start + m) * per));
      const t = opts.target;
      const values: StructValues<typeof STAIN_ARGS> = {
        imagesPtr: imgPtr, n: m, h: shape[0], w: shape[1], c: 3, method: StainMethodCode[opts.method], outPtr,
        target0: t[0] ?? 0, target1: t[1] ?? 0, target2: t[2] ?? 0, target3: t[3] ?? 0, target4: t[4] ?? 0, target5: t[5] ?? 0, target6: t[6] ?? 0, target7: t[7] ?? 0,
      };
      writeStruct(heap.memory.buffer, argsPtr, STAIN_ARGS, values);
      engine.call(opts.name, () => opts.call(argsPtr));
      if (opts.writeBack) images.set(heap.u8(imgPtr, m * per), start * per);
      outAll.set(heap.u8(outPtr, m * opts.outPerImage * 4), start * opts.outPerImage * 4);
    }
  } finally {
    heap.free(outPtr, chunk * opts.outPerImage * 4, 16);
    heap.free(imgPtr, chunk * per, 16);
    heap.free(argsPtr, structBytes(STAIN_ARGS), 16);
  }
  return outAll;
}

/** Each image's stain parameters: `params` `[n, 8]` and whether they could be estimated (Macenko: enough tissue). */
export function stainParameters(engine: Engine, images: Uint8Array, shape: Shape3, method: StainNormalizationKind): { params: Float32Array; valid: boolean[] } {
  const bytes = overChunks(engine, images, shape, { method, target: [], outPerImage: FIT_ROW, writeBack: false, name: 'stainFit', call: (p) => engine.raw.lc_stain_fit(p) });
  const rows = new Float32Array(bytes.buffer);
  const n = rows.length / FIT_ROW;
  const params = new Float32Array(n * STAIN_PARAMS);
  const valid: boolean[] = [];
  for (let i = 0; i < n; i++) {
    params.set(rows.subarray(i * FIT_ROW, i * FIT_ROW + STAIN_PARAMS), i * STAIN_PARAMS);
    valid.push(rows[i * FIT_ROW + STAIN_PARAMS] === 1);
  }
  return { params, valid };
}

/** Normalizes `images` in place towards `target` (8 parameters); returns how many images were left untouched (no estimate). */
export function normalizeInPlace(engine: Engine, images: Uint8Array, shape: Shape3, method: StainNormalizationKind, target: readonly number[]): number {
  const bytes = overChunks(engine, images, shape, { method, target, outPerImage: 1, writeBack: true, name: 'stainNormalize', call: (p) => engine.raw.lc_stain_normalize(p) });
  return new Uint32Array(bytes.buffer).reduce((a, v) => a + v, 0);
}
