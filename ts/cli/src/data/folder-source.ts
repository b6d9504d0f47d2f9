/**
 * Image folders (`<root>/<class>/*.png|jpg|...`, optional manifest.csv) through
 * the SDK's image pipeline: listing, a stratified (and, when patients are
 * known, patient-grouped) seeded split, decoding once into a uint8 cache, and
 * the wasm transformer for preprocessing and augmentation.
 */
import {
  channelStats, ConfigError, defaultEngine, ImageDataset, listImageFolder, splitSamples, studyAugmentation, WasmImageTransformer, writeSplitCsv,
  type AugmentationConfig, type Dataset, type ImageSample, type PreprocessingConfig, type Shape3, type SplitAssignment,
} from '@lite-cnn/sdk';
import type { AugmentOptions, DataOptions, FolderOptions } from './options.js';
import type { EvaluationData, TrainingData } from './training-data.js';

/** VGG16's ImageNet channel means (BGR, 0-255), what "caffe" preprocessing subtracts. */
const CAFFE_MEAN: [number, number, number] = [103.939, 116.779, 123.68];

function imageShape(f: FolderOptions, inputShape: Shape3): Shape3 {
  const [h, w] = f.imageSize;
  if (h !== inputShape[0] || w !== inputShape[1]) {
    throw new ConfigError(`--image-size ${h}x${w} does not match the model's input ${inputShape[0]}x${inputShape[1]}; resize to the network's input size`);
  }
  return [h, w, inputShape[2]];
}

function augmentation(a: AugmentOptions | null): AugmentationConfig | undefined {
  if (a === null) return undefined;
  return { ...a };
}

function split(samples: readonly ImageSample[], f: Pick<FolderOptions, 'splitBy' | 'valRatio' | 'testRatio'>, seed: number): SplitAssignment[] {
  return splitSamples(samples, {
    ratios: { train: 1 - f.valRatio - f.testRatio, val: f.valRatio, test: f.testRatio },
    seed,
    ...(f.splitBy === null ? { grouped: false } : f.splitBy === 'auto' ? {} : { grouped: true }),
  });
}

async function decodeAll(dir: string, f: Pick<FolderOptions, 'splitBy' | 'aspect' | 'onBadImage'>, shape: Shape3) {
  const listing = await listImageFolder(dir, f.splitBy && f.splitBy !== 'auto' ? { groupColumn: f.splitBy } : {});
  const engine = await defaultEngine();
  // Decoded once, as uint8; each split is a view with its own transformer.
  const placeholder = new WasmImageTransformer(engine, { preprocessing: { kind: 'minmax' }, seed: 0 });
  const all = await ImageDataset.fromSamples(listing.samples, {
    shape,
    aspect: f.aspect === 'center-crop' ? 'centerCrop' : 'squash',
    onBadImage: f.onBadImage,
    transformer: placeholder,
    classNames: listing.classNames,
    engine,
  });
  return { listing, all, engine };
}

function positions(all: ImageDataset, assignments: readonly SplitAssignment[], which: string): number[] {
  const splitOf = new Map(assignments.map((a) => [a.path, a.split]));
  const out: number[] = [];
  (all.samples ?? []).forEach((s, i) => {
    if (splitOf.get(s.path) === which) out.push(i);
  });
  return out;
}

export async function loadFolderTraining(dir: string, opts: DataOptions): Promise<TrainingData> {
  const f = opts.folder!;
  const shape = imageShape(f, opts.inputShape);
  const { listing, all, engine } = await decodeAll(dir, f, shape);
  const assignments = split(listing.samples, f, opts.seed);
  const [trainPos, valPos, testPos] = (['train', 'val', 'test'] as const).map((s) => positions(all, assignments, s));
  let preprocessing: PreprocessingConfig;
  switch (opts.preprocess) {
    case 'standardize': {
      const stats = channelStats(all.subset(trainPos!));
      preprocessing = { kind: 'standardize', mean: stats.mean, std: stats.std };
      break;
    }
    case 'caffe':
      preprocessing = { kind: 'caffe', mean: CAFFE_MEAN };
      break;
    default:
      preprocessing = { kind: opts.preprocess };
  }
  const evalT = new WasmImageTransformer(engine, { preprocessing, seed: opts.seed });
  const aug = augmentation(f.augment);
  const trainT = new WasmImageTransformer(engine, { preprocessing, seed: opts.seed, ...(aug ? { augmentation: aug } : {}) });
  const limit = (p: number[]) => (opts.limit === null ? p : p.slice(0, opts.limit));
  const trainSet = all.subset(limit(trainPos!), { transformer: trainT, augment: aug !== undefined });
  const train: Dataset = f.oversample ? trainSet.oversampled(opts.seed) : trainSet;
  const val = valPos!.length ? all.subset(limit(valPos!), { transformer: evalT }) : null;
  const test = testPos!.length ? all.subset(limit(testPos!), { transformer: evalT }) : null;
  const grouped = f.splitBy !== null && listing.samples.every((s) => s.group !== undefined);
  const skipped = all.skipped.length;
  return {
    train,
    val,
    test,
    classNames: listing.classNames,
    preprocessing,
    description: `${dir}: ${listing.classNames.join(' / ')}, ${trainSet.size} train / ${val?.size ?? 0} validation / ${test?.size ?? 0} test (${grouped ? 'split by patient' : 'split by image'}${aug ? ', augmented' : ''}${f.oversample ? ', oversampled' : ''}), ${skipped} image${skipped === 1 ? '' : 's'} skipped`,
    source: { kind: 'folder', dir, manifest: listing.manifest, classNames: listing.classNames, images: listing.samples.length, skipped: all.skipped, grouped, splitFile: 'split.csv' },
    writeSplit: (path) => writeSplitCsv(path, assignments, { relativeTo: dir }),
  };
}

export async function loadFolderEvaluation(
  dir: string,
  opts: { split: 'test' | 'all'; limit: number | null; inputShape: readonly number[]; preprocessing: PreprocessingConfig; classNames: string[] | null; seed: number },
): Promise<EvaluationData> {
  const shape = opts.inputShape as Shape3;
  const { listing, all, engine } = await decodeAll(dir, { splitBy: 'auto', aspect: 'squash', onBadImage: 'fail' }, shape);
  if (opts.classNames && opts.classNames.join('\n') !== listing.classNames.join('\n')) {
    throw new ConfigError(`${dir}: its classes (${listing.classNames.join(', ')}) differ from the model's (${opts.classNames.join(', ')})`);
  }
  const evalT = new WasmImageTransformer(engine, { preprocessing: opts.preprocessing, seed: opts.seed });
  let pos = Array.from({ length: all.size }, (_, i) => i);
  // The test split is re-made as train makes it by default (80/10/10, by patient when known, --seed).
  if (opts.split === 'test') pos = positions(all, split(listing.samples, { splitBy: 'auto', valRatio: 0.1, testRatio: 0.1 }, opts.seed), 'test');
  if (opts.limit !== null) pos = pos.slice(0, opts.limit);
  return { sets: [{ name: opts.split, data: all.subset(pos, { transformer: evalT }) }], classNames: listing.classNames, description: `${dir} (${opts.split === 'test' ? 'test split' : 'all images'})` };
}
