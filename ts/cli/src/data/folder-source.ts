/**
 * Image folders (`<root>/<class>/*.png|jpg|...`, optional manifest.csv) through
 * the SDK's image pipeline: listing, a stratified (and, when patients are
 * known, patient-grouped) seeded split, decoding once into a uint8 cache, and
 * the wasm transformer for preprocessing and augmentation.
 */
import {
  applications, channelStats, ConfigError, DataError, defaultEngine, fitDatasetStainDistribution, fitDatasetStains, groupKFold, ImageDataset, listImageFolder, readSplitCsv, splitSamples, stainNormalizedDataset, WasmImageTransformer, writeSplitCsv,
  type AugmentationConfig, type StainDistribution, type StainNormalizationConfig, type Dataset, type Engine, type ImageFolderListing, type ImageSample, type PreprocessingConfig, type Shape3, type SplitAssignment,
} from '@lite-cnn/sdk';
import { DEFAULT_SPLIT_RATIO, listingFor, splitNote, splitSeedOf, type AugmentOptions, type DataOptions, type FolderOptions, type Grouping } from './options.js';
import type { EvaluationData, TrainingData } from './training-data.js';

/** VGG16's ImageNet channel means (BGR, 0-255), what "caffe" preprocessing subtracts. */
const CAFFE_MEAN: [number, number, number] = [103.939, 116.779, 123.68];

/** `, 3 images reached twice through links counted once`, or nothing. */
export function duplicateNote(listing: ImageFolderListing): string {
  const n = listing.duplicates.length;
  return n ? `, ${n} image${n === 1 ? '' : 's'} reached twice through symbolic links counted once` : '';
}

export function imageShape(f: FolderOptions, inputShape: Shape3): Shape3 {
  const [h, w] = f.imageSize ?? [inputShape[0], inputShape[1]];
  if (h !== inputShape[0] || w !== inputShape[1]) {
    throw new ConfigError(`--image-size ${h}x${w} does not match the model's input ${inputShape[0]}x${inputShape[1]}; resize to the network's input size`);
  }
  return [h, w, inputShape[2]];
}

/**
 * The SDK augmentation of the options; `--stain-randomize` fits its L*a*b*
 * distribution on the training positions (after any stain normalization:
 * the images the model trains on).
 */
async function augmentation(a: AugmentOptions | null, all: ImageDataset, trainPos: number[], engine: Engine): Promise<{ config?: AugmentationConfig; note: string; stainDistribution: StainDistribution | null }> {
  if (a === null) return { note: '', stainDistribution: null };
  const { stainRandomize = 0, stainRandomizeProbability = 1, ...ranges } = a;
  if (stainRandomize === 0) return { config: ranges, note: '', stainDistribution: null };
  if (all.sampleShape[2] !== 3) throw new ConfigError(`--stain-randomize recolours RGB images; the network input has ${all.sampleShape[2]} channel(s)`);
  const distribution = await fitDatasetStainDistribution(all.subset(trainPos), { engine });
  return {
    config: { ...ranges, stainRandomization: { distribution, spread: stainRandomize, probability: stainRandomizeProbability } },
    note: `, stain randomization (spread ${stainRandomize}${stainRandomizeProbability < 1 ? `, probability ${stainRandomizeProbability}` : ''}, fitted on ${distribution.images} training images)`,
    stainDistribution: distribution,
  };
}

export function split(samples: readonly ImageSample[], f: Pick<FolderOptions, 'splitBy' | 'valRatio' | 'testRatio'>, seed: number): SplitAssignment[] {
  return splitSamples(samples, {
    ratios: { train: 1 - f.valRatio - f.testRatio, val: f.valRatio, test: f.testRatio },
    seed,
    ...groupedOption(f.splitBy),
  });
}

/** `--split-by`: 'auto' groups when every image has a patient, null never, a column always. */
export function groupedOption(splitBy: string | null): { grouped?: boolean } {
  return splitBy === null ? { grouped: false } : splitBy === 'auto' ? {} : { grouped: true };
}

export interface OpenedFolder {
  dir: string;
  listing: ImageFolderListing;
  /** Every decoded image (skipped ones left out), in listing order. */
  all: ImageDataset;
  engine: Engine;
  /** Wall time of listing and decoding. */
  decodeSeconds: number;
}

/**
 * Lists `dir` with the groups a split of `g` needs (--split-by, --group-pattern).
 * A --group-pattern on a folder without group ids is a DataError: the split
 * would otherwise fall back to images unasked.
 */
export async function listGroupedFolder(dir: string, g: Grouping, followSymlinks = false): Promise<ImageFolderListing> {
  const listing = await listImageFolder(dir, listingFor(g, followSymlinks));
  if (g.groupPattern && g.splitBy !== null && !listing.groupsKnown) {
    const where = listing.manifest ? `${listing.manifest} has no ${g.splitBy === 'auto' ? "'group' or 'patient'" : `'${g.splitBy}'`} value for every image` : `${dir} has no manifest.csv`;
    throw new DataError(`--group-pattern /${g.groupPattern}/ groups by patient id, but ${where}; drop the pattern to split by image`);
  }
  return listing;
}

/** Lists and decodes a folder once, as uint8; splits and folds are views over it. */
export async function openFolder(dir: string, f: Pick<FolderOptions, 'splitBy' | 'groupPattern' | 'aspect' | 'onBadImage' | 'followSymlinks'>, shape: Shape3): Promise<OpenedFolder> {
  const t0 = performance.now();
  const listing = await listGroupedFolder(dir, f, f.followSymlinks);
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
  return { dir, listing, all, engine, decodeSeconds: (performance.now() - t0) / 1000 };
}

/** Positions in `all` of the images assigned to each of `splits` (matched by path), in one pass. */
function positionsBySplit<S extends string>(all: ImageDataset, assignments: readonly SplitAssignment[], splits: readonly S[]): Record<S, number[]> {
  const splitOf = new Map(assignments.map((a) => [a.path, a.split]));
  const out = Object.fromEntries(splits.map((s) => [s, [] as number[]])) as Record<S, number[]>;
  (all.samples ?? []).forEach((s, i) => {
    const split = splitOf.get(s.path);
    if (split !== undefined && split in out) out[split as S].push(i);
  });
  return out;
}

export async function loadFolderTraining(dir: string, opts: DataOptions): Promise<TrainingData> {
  const f = opts.folder!;
  const opened = await openFolder(dir, f, imageShape(f, opts.inputShape));
  return folderDatasets(opened, split(opened.listing.samples, f, splitSeedOf(f, opts.seed)), opts);
}

/**
 * K folds for cross-validation (the SDK's `groupKFold`: by patient when
 * known, stratified by class). In fold k, fold k is the test split; the
 * other folds are split again (`splitSamples`, test ratio 0) into train and
 * a validation split of `--val-ratio` of their images, whole patients, for
 * model selection and the threshold.
 */
export function foldAssignments(opened: OpenedFolder, f: FolderOptions, folds: number, seed: number): SplitAssignment[][] {
  const samples = opened.listing.samples;
  return groupKFold(samples, folds, seed, groupedOption(f.splitBy)).map((fold) => {
    const rest = fold.train.map((i) => samples[i]!);
    const inner = splitSamples(rest, { ratios: { train: 1 - f.valRatio, val: f.valRatio, test: 0 }, seed, ...groupedOption(f.splitBy) });
    const out: SplitAssignment[] = [...inner, ...fold.test.map((i) => ({ ...samples[i]!, split: 'test' as const }))];
    // Listing order, as splitSamples returns it.
    const order = new Map(samples.map((s, i) => [s.path, i]));
    return out.sort((a, b) => order.get(a.path)! - order.get(b.path)!);
  });
}

/** Positions reordered so that the classes take turns (first of each class, then second of each, ...). */
function classesInTurn(positions: readonly number[], labels: Uint32Array): number[] {
  const byClass = new Map<number, number[]>();
  for (const p of positions) {
    const l = labels[p]!;
    (byClass.get(l) ?? byClass.set(l, []).get(l)!).push(p);
  }
  const lists = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);
  const out: number[] = [];
  for (let i = 0; out.length < positions.length; i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}

/**
 * `--stain-normalize`: the target fitted on the training positions, and a
 * normalized copy of every image (each fold of a cross-validation fits its own).
 */
async function stainNormalized(opened: OpenedFolder, trainPos: number[], f: FolderOptions): Promise<{ all: ImageDataset; config: StainNormalizationConfig | null; untouched: number }> {
  if (!f.stainNormalize) return { all: opened.all, config: null, untouched: 0 };
  const config = await fitDatasetStains(opened.all.subset(trainPos), f.stainNormalize, { engine: opened.engine });
  const { dataset, untouched } = await stainNormalizedDataset(opened.all, config, { engine: opened.engine });
  return { all: dataset, config, untouched };
}

/**
 * The preprocessing config of `--preprocess` when it does not depend on the
 * training images: a fixed kind, or one given whole (a pretrained model's);
 * null for 'standardize', whose statistics are fitted on each training split.
 */
export function fixedPreprocessing(preprocess: DataOptions['preprocess']): PreprocessingConfig | null {
  if (typeof preprocess === 'object') return preprocess;
  switch (preprocess) {
    case 'standardize':
      return null;
    case 'caffe':
      return { kind: 'caffe', mean: CAFFE_MEAN };
    case 'torchvision': {
      const { mean, std } = applications.TORCHVISION_PREPROCESSING;
      return { kind: 'standardize', mean: [...mean], std: [...std] };
    }
    default:
      return { kind: preprocess };
  }
}

/** The preprocessing config of `--preprocess` for a split: fixed, or fitted on its training positions. */
function preprocessingFor(preprocess: DataOptions['preprocess'], all: ImageDataset, trainPos: number[]): PreprocessingConfig {
  const fixed = fixedPreprocessing(preprocess);
  if (fixed) return fixed;
  const stats = channelStats(all.subset(trainPos));
  return { kind: 'standardize', mean: stats.mean, std: stats.std };
}

/** Train/val/test datasets of one assignment over an opened folder. */
export async function folderDatasets(opened: OpenedFolder, assignments: readonly SplitAssignment[], opts: DataOptions): Promise<TrainingData> {
  const f = opts.folder!;
  const { dir, listing, engine } = opened;
  const { train: trainPos, val: valPos, test: testPos } = positionsBySplit(opened.all, assignments, ['train', 'val', 'test'] as const);
  const stain = await stainNormalized(opened, trainPos, f);
  const all = stain.all;
  const preprocessing = preprocessingFor(opts.preprocess, all, trainPos!);
  const evalT = new WasmImageTransformer(engine, { preprocessing, seed: opts.seed });
  const { config: aug, note: augNote, stainDistribution } = await augmentation(f.augment, all, trainPos!, engine);
  const trainT = new WasmImageTransformer(engine, { preprocessing, seed: opts.seed, ...(aug ? { augmentation: aug } : {}) });
  // --limit N keeps N images of each split, taken from the classes in turn (the listing is sorted by class: a plain prefix would hold one class only).
  const labels = all.labels();
  const limit = (p: number[]) => (opts.limit === null || p.length <= opts.limit ? p : classesInTurn(p, labels).slice(0, opts.limit).sort((a, b) => a - b));
  const trainSet = all.subset(limit(trainPos!), { transformer: trainT, augment: aug !== undefined });
  const train: Dataset = f.oversample ? trainSet.oversampled(opts.seed) : trainSet;
  const val = valPos!.length ? all.subset(limit(valPos!), { transformer: evalT }) : null;
  const test = testPos!.length ? all.subset(limit(testPos!), { transformer: evalT }) : null;
  const grouped = f.splitBy !== null && listing.groupsKnown;
  const skipped = all.skipped.length;
  const ignored = listing.ignored.length;
  const patients = (ds: ImageDataset | null) => (grouped && ds ? new Set(ds.groups()).size : null);
  const splitCounts = (['train', 'val', 'test'] as const).map((name, i) => {
    const ds = [trainSet, val, test][i]!;
    return { split: name, images: ds?.size ?? 0, patients: patients(ds) };
  });
  return {
    train,
    val,
    test,
    classNames: listing.classNames,
    preprocessing,
    stainNormalization: stain.config,
    stainDistribution,
    decodeSeconds: opened.decodeSeconds,
    description:
      `${dir}: ${listing.classNames.join(' / ')}, ${splitCounts.map((c) => `${c.images} ${c.split === 'val' ? 'validation' : c.split}${c.patients !== null ? ` (${c.patients} patients)` : ''}`).join(' / ')} ` +
      `(${splitNote(grouped, f)}${aug ? `, augmented${augNote}` : ''}${f.oversample ? ', oversampled' : ''}` +
      `${stain.config ? `, ${stain.config.kind} stain normalization${stain.untouched ? ` (${stain.untouched} image${stain.untouched === 1 ? '' : 's'} without enough tissue left as they were)` : ''}` : ''}), ` +
      `${skipped} image${skipped === 1 ? '' : 's'} skipped${ignored ? `, ${ignored} non-image file${ignored === 1 ? '' : 's'} ignored` : ''}${duplicateNote(listing)}`,
    source: { kind: 'folder', dir, manifest: listing.manifest, classNames: listing.classNames, images: listing.samples.length, skipped: all.skipped, ignored: listing.ignored, duplicates: listing.duplicates, grouped, splits: splitCounts, splitFile: 'split.csv', stainNormalization: stain.config, stainRandomization: stainDistribution },
    writeSplit: (path) => writeSplitCsv(path, assignments, { relativeTo: dir }),
  };
}

/** Which images `evaluate --split test|val` reads: the run's split.csv, or a split re-made as train would make it. */
export type EvaluationSplit =
  | { kind: 'csv'; path: string }
  | ({ kind: 'resplit'; valRatio: number; testRatio: number; seed: number } & Grouping);

export type EvaluationSplitName = 'test' | 'val' | 'all';

/** What evaluating a model needs of its data (whichever the source). */
export interface EvaluationOptions {
  /** One split of the run (test, or val: the validation split), or every image. */
  split: EvaluationSplitName;
  limit: number | null;
  inputShape: readonly number[];
  preprocessing: PreprocessingConfig;
  /** The model's stain normalization (applied to the decoded images first). */
  stainNormalization?: StainNormalizationConfig | null;
  classNames: string[] | null;
  seed: number;
  from?: EvaluationSplit;
  aspect?: 'squash' | 'center-crop';
  onBadImage?: 'skip' | 'fail';
  followSymlinks?: boolean;
}

export async function loadFolderEvaluation(dir: string, opts: EvaluationOptions): Promise<EvaluationData> {
  const shape = opts.inputShape as Shape3;
  const from: EvaluationSplit = opts.from ?? { kind: 'resplit', splitBy: 'auto', valRatio: DEFAULT_SPLIT_RATIO, testRatio: DEFAULT_SPLIT_RATIO, seed: opts.seed };
  const listing = await listGroupedFolder(dir, from.kind === 'resplit' ? from : { splitBy: null }, opts.followSymlinks);
  if (opts.classNames && opts.classNames.join('\n') !== listing.classNames.join('\n')) {
    throw new ConfigError(`${dir}: its classes (${listing.classNames.join(', ')}) differ from the model's (${opts.classNames.join(', ')})`);
  }
  let samples: ImageSample[] = listing.samples;
  let description = `${dir} (all images)`;
  if (opts.split !== 'all') {
    const which = opts.split;
    const name = which === 'val' ? 'validation' : 'test';
    if (from.kind === 'csv') {
      const assigned = (await readSplitCsv(from.path, { relativeTo: dir })).filter((a) => a.split === which);
      const byPath = new Map(listing.samples.map((s) => [s.path, s]));
      const absent = assigned.filter((a) => !byPath.has(a.path));
      if (absent.length > 0) {
        throw new DataError(`${from.path}: ${absent.length} of its ${assigned.length} ${name} images are not in ${dir}, e.g. ${absent.slice(0, 2).map((a) => a.path).join(', ')}; give the folder the model was trained on`);
      }
      if (assigned.length === 0) throw new DataError(`${from.path}: no ${name} split (the run had --${which === 'val' ? 'val' : 'test'}-ratio 0${which === 'val' ? ' or --threshold-cv' : ''}); use --split all`);
      samples = assigned.map((a) => byPath.get(a.path)!);
      description = `${dir} (${name} split of ${from.path})`;
    } else {
      samples = split(listing.samples, { splitBy: from.splitBy, valRatio: from.valRatio, testRatio: from.testRatio }, from.seed).filter((a) => a.split === which);
      const ratio = which === 'val' ? from.valRatio : from.testRatio;
      description = `${dir} (${name} split re-made: ${ratio} of the images, ${from.splitBy === null ? 'by image' : `by patient when known${from.groupPattern ? ` (the part of each id matching /${from.groupPattern}/)` : ''}`}, seed ${from.seed})`;
    }
  }
  if (opts.limit !== null) samples = samples.slice(0, opts.limit);
  const engine = await defaultEngine();
  const decoded = await ImageDataset.fromSamples(samples, {
    shape,
    aspect: opts.aspect === 'center-crop' ? 'centerCrop' : 'squash',
    onBadImage: opts.onBadImage ?? 'fail',
    transformer: new WasmImageTransformer(engine, { preprocessing: opts.preprocessing, seed: opts.seed }),
    classNames: listing.classNames,
    engine,
  });
  const { dataset: data, untouched } = await stainNormalizedDataset(decoded, opts.stainNormalization, { engine });
  const skipped = data.skipped.length;
  if (skipped) description += `, ${skipped} image${skipped === 1 ? '' : 's'} skipped`;
  if (opts.stainNormalization) description += `, ${opts.stainNormalization.kind} stain normalization${untouched ? ` (${untouched} without enough tissue left as they were)` : ''}`;
  return { sets: [{ name: opts.split, data }], classNames: listing.classNames, description };
}
