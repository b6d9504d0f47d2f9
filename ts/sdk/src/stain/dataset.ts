/** Stain normalization and randomization fits over an `ImageDataset`'s decoded images. */
import { ImageDataset } from '../data/image-dataset.js';
import type { StainNormalizationConfig, StainNormalizationKind } from '../model/metadata.js';
import { fitStainNormalization, normalizeStains, type StainOptions } from './normalization.js';
import { fitStainDistribution, type StainDistribution } from './randomization.js';

/** The dataset's images (in position order) as one `[n, h, w, c]` array. */
function gather(dataset: ImageDataset): Uint8Array {
  const per = dataset.sampleShape[0] * dataset.sampleShape[1] * dataset.sampleShape[2];
  const out = new Uint8Array(dataset.size * per);
  for (let i = 0; i < dataset.size; i++) out.set(dataset.image(i), i * per);
  return out;
}

/** Fits a target on a dataset's images (use the training split). */
export function fitDatasetStains(dataset: ImageDataset, kind: StainNormalizationKind, opts: StainOptions = {}): Promise<StainNormalizationConfig> {
  return fitStainNormalization(gather(dataset), dataset.sampleShape, kind, opts);
}

/** Fits the stain randomization distribution on a dataset's images (use the training split). */
export function fitDatasetStainDistribution(dataset: ImageDataset, opts: StainOptions = {}): Promise<StainDistribution> {
  return fitStainDistribution(gather(dataset), dataset.sampleShape, opts);
}

/**
 * A new dataset with the same samples, labels, transformer and augmentation
 * over stain-normalized copies of the images (`config` null: `dataset` itself).
 * Apply it with a model's `metadata.stainNormalization` before predicting.
 */
export async function stainNormalizedDataset(dataset: ImageDataset, config: StainNormalizationConfig | null | undefined, opts: StainOptions = {}): Promise<{ dataset: ImageDataset; untouched: number }> {
  if (!config) return { dataset, untouched: 0 };
  const { images, untouched } = await normalizeStains(gather(dataset), dataset.sampleShape, config, opts);
  const normalized = new ImageDataset({
    images,
    shape: dataset.sampleShape,
    labels: dataset.labels(),
    classNames: dataset.classNames,
    transformer: dataset.transformer,
    augment: dataset.augment,
    skipped: dataset.skipped,
    ...(dataset.samples ? { samples: dataset.samples } : {}),
    ...(opts.engine ? { engine: opts.engine } : {}),
  });
  return { dataset: normalized, untouched };
}
