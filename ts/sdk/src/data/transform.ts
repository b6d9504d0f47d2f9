/**
 * The contract between image datasets and the code that turns decoded 8-bit
 * images into model inputs. Datasets keep decoded images as uint8 and gather
 * each batch into wasm memory; a transformer then writes the float inputs
 * (preprocessing, and augmentation while training) straight into the
 * executor's input buffer. The wasm implementation (augment.ts) does it as
 * one threaded, seeded kernel call per batch.
 */
import type { Shape3 } from '../layers/shape.js';
import type { Engine } from '../runtime/engine.js';

export interface ImageBatch {
  /** `n` images `[n, h, w, c]`, uint8, in wasm memory (a view). */
  src: Uint8Array;
  /** Where the model inputs go: `[n, h, w, c]` float32 in wasm memory (a view). */
  dst: Float32Array;
  n: number;
  shape: Shape3;
  /** A stable id per image (its index in the dataset): augmentation draws are keyed by (seed, epoch, id). */
  sampleIds: Uint32Array;
  epoch: number;
  /** Apply random augmentation (training) or only preprocessing (evaluation, prediction). */
  augment: boolean;
}

/** A transform whose arguments are written into `engine`'s memory, to be run by a later call there. */
export interface StagedTransform {
  engine: Engine;
  /** `lc_image_transform`'s arguments (IMAGE_TRANSFORM_ARGS). */
  argsPtr: number;
  /** Optional: `lc_mix_batch`'s arguments (MIX_ARGS), run on the transform's output after it (a mixed batch, data/mix.ts). */
  mixArgsPtr?: number;
}

export interface ImageBatchTransformer {
  run(batch: ImageBatch): void;
  /**
   * Optional: prepares `batch` like `run` but leaves the work to a later
   * engine call, which may run it concurrently with a training step (fit's
   * `prefetch`). Transformers without it are run before each step.
   */
  stage?(batch: ImageBatch): StagedTransform;
}
