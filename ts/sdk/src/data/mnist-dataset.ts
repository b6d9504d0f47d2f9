/**
 * MNIST as an `ImageDataset`: the uint8 images stay as they are and the wasm
 * transformer applies the model's preprocessing per batch (minmax by default:
 * x / 255, which matters more than anything else on MNIST — ARCHITECTURE.md
 * §7), so no float copy of the 47 MB of pixels is ever made in JavaScript.
 */
import { ConfigError } from '../errors.js';
import type { PreprocessingConfig } from '../model/metadata.js';
import { defaultEngine } from '../runtime/default-engine.js';
import type { Engine } from '../runtime/engine.js';
import { WasmImageTransformer } from './augment.js';
import { ImageDataset } from './image-dataset.js';
import type { MnistSplit } from './mnist.js';

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface MnistDatasetOptions {
  /** Images `[from, to)` of the split (default: all). */
  range?: readonly [number, number];
  /** Default minmax ([0, 1]); 'none' keeps raw 0-255 values (what the study's 91.5% run did). */
  preprocessing?: PreprocessingConfig;
  /** The model's engine (default: the shared default engine). */
  engine?: Engine;
}

export async function mnistDataset(split: MnistSplit, opts: MnistDatasetOptions = {}): Promise<ImageDataset> {
  const [from, to] = opts.range ?? [0, split.count];
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= split.count)) {
    throw new ConfigError(`mnistDataset: range must satisfy 0 <= from < to <= ${split.count}, got [${from}, ${to}]`);
  }
  const preprocessing = opts.preprocessing ?? { kind: 'minmax' };
  if (preprocessing.kind !== 'minmax' && preprocessing.kind !== 'none') {
    throw new ConfigError(`mnistDataset: preprocessing '${preprocessing.kind}' does not apply to 1-channel MNIST; use 'minmax' or 'none'`);
  }
  const engine = opts.engine ?? (await defaultEngine());
  const px = 28 * 28;
  return new ImageDataset({
    images: split.images.subarray(from * px, to * px),
    shape: [28, 28, 1],
    labels: split.labels.subarray(from, to),
    classNames: [...MNIST_CLASS_NAMES],
    transformer: new WasmImageTransformer(engine, { preprocessing, seed: 0 }),
    engine,
  });
}
