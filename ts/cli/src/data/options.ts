/**
 * What the command line says about data, resolved: where it comes from and
 * how it is turned into model inputs. Shared by train, evaluate and predict.
 */
import type { PreprocessingConfig, Shape3, StainNormalizationKind } from '@lite-cnn/sdk';
import { UsageError } from '../errors.js';

/** The SDK's preprocessing kinds, and 'torchvision' (ImageNet mean/std standardization, fixed: what torchvision's pretrained weights expect). */
export type PreprocessName = PreprocessingConfig['kind'] | 'torchvision';
export const PREPROCESS_NAMES: readonly PreprocessName[] = ['none', 'minmax', 'caffe', 'standardize', 'torchvision'];

export type DataSource = { kind: 'mnist' } | { kind: 'folder'; dir: string };

/** Keras ImageDataGenerator semantics: degrees for rotation and shear, fractions for shifts and zoom. */
export interface AugmentOptions {
  rotationRange: number;
  widthShiftRange: number;
  heightShiftRange: number;
  shearRange: number;
  zoomRange: number;
  horizontalFlip: boolean;
  verticalFlip: boolean;
  fillMode: 'nearest' | 'reflect' | 'constant';
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** HED stain jitter (Tellez et al.): concentration scale range and shift range (absent in configs before it existed: 0). */
  stainScale?: number;
  stainShift?: number;
  /**
   * Stain randomization (RandStainNA): the spread factor of the L*a*b* distribution fitted on the
   * training split, 0 off (absent in configs before it existed: off), and the chance per image.
   */
  stainRandomize?: number;
  stainRandomizeProbability?: number;
}

/** Options that only make sense for image folders. */
export interface FolderOptions {
  /** null: the model's input size (a model file given with --from). */
  imageSize: [number, number] | null;
  aspect: 'squash' | 'center-crop';
  /**
   * Manifest column whose values stay within one split (e.g. 'patient'); 'auto'
   * groups by patient when the source knows patients; null splits by image.
   */
  splitBy: string | null;
  /**
   * --group-pattern: the split groups by the part of the column's value this
   * regular expression matches (its first capture group if it has one), e.g.
   * '^\\d+-\\d+' for BreakHis slides of one person (absent in older configs: none).
   */
  groupPattern?: string | null;
  valRatio: number;
  testRatio: number;
  /**
   * --split-seed: the seed of the split, of --cv's folds and of
   * --threshold-cv's inner folds, so that runs with other --seed values (other
   * initializations, shuffles and augmentations) test on the same patients
   * (absent in older configs: the run's --seed, which seeded them then).
   */
  splitSeed?: number;
  augment: AugmentOptions | null;
  /** Stain normalization fitted on the training split and stored in the model file (absent in older configs: none). */
  stainNormalize?: StainNormalizationKind | null;
  oversample: boolean;
  onBadImage: 'skip' | 'fail';
  /** --follow-symlinks: read links that point outside the folder (absent in config.json of older runs: false). */
  followSymlinks?: boolean;
}

export interface DataOptions {
  source: DataSource;
  /** Per-sample input shape of the model. */
  inputShape: Shape3;
  /** A kind fitted on (or fixed for) the training split, or a fixed preprocessing: a pretrained model's own (`train --from`). */
  preprocess: PreprocessName | PreprocessingConfig;
  /** Use only the first N training samples (and at most N validation and test samples): for smoke tests. */
  limit: number | null;
  seed: number;
  folder: FolderOptions | null;
}

/** The seed of a folder run's split and folds: --split-seed, else the run's --seed. */
export function splitSeedOf(f: Pick<FolderOptions, 'splitSeed'>, seed: number): number {
  return f.splitSeed ?? seed;
}

/** Default validation and test fractions of a folder split (train's, so evaluate and split re-make the same split). */
export const DEFAULT_SPLIT_RATIO = 0.1;

/**
 * `--split-by` resolved: 'none' splits by image (null); absent means 'auto',
 * by patient whenever the manifest knows patients (image-level splits leak
 * patients into the test split).
 */
export function splitByOption(raw: string | undefined): string | null {
  return raw === 'none' ? null : (raw ?? 'auto');
}

/** --group-pattern's help, for train and split. */
export const GROUP_PATTERN_HELP =
  "group by the part of each --split-by value this regular expression matches (its first capture group if it has one), e.g. '^\\d+-\\d+' keeps BreakHis slides 14-23060AB and 14-23060CD, which may be one person, in one split";

/** --group-pattern's help where it cuts --group-by's column (evaluate, predict). */
export const GROUP_BY_PATTERN_HELP =
  "with --group-by: pool the images whose column values share the part this regular expression matches (its first capture group if it has one), e.g. '^\\d+-\\d+' for BreakHis slides of one person";

/**
 * `--group-pattern` checked: a valid regular expression, for a grouped split.
 * Kept as its source text (what config.json records); `groupPatternRegExp` compiles it.
 */
export function groupPatternOption(raw: string | undefined, splitBy: string | null): string | null {
  if (raw === undefined) return null;
  if (splitBy === null) throw new UsageError('--group-pattern cuts the group of a grouped split: it cannot be combined with --split-by none');
  groupPatternRegExp(raw);
  return raw;
}

/** `--group-pattern`'s text compiled; a UsageError (exit 2) names it when it is not a regular expression. */
export function groupPatternRegExp(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (cause) {
    throw new UsageError(`--group-pattern: expected a regular expression, got '${source}' (${(cause as Error).message})`);
  }
}

/** What decides a split's groups: the column (--split-by) and the part of its values that counts (--group-pattern). */
export type Grouping = Pick<FolderOptions, 'splitBy' | 'groupPattern'>;

/** How to list a folder for a split: a named manifest column groups the samples; 'auto' and null need none. */
export function listingFor(g: Grouping, followSymlinks = false): { groupColumn?: string; groupPattern?: RegExp; followSymlinks: boolean } {
  return {
    ...(g.splitBy && g.splitBy !== 'auto' ? { groupColumn: g.splitBy } : {}),
    ...(g.splitBy !== null && g.groupPattern ? { groupPattern: groupPatternRegExp(g.groupPattern) } : {}),
    followSymlinks,
  };
}

/** `--val-ratio` + `--test-ratio` must leave images to train on. */
export function checkSplitRatios(valRatio: number, testRatio: number): void {
  if (valRatio + testRatio >= 1) throw new UsageError(`--val-ratio ${valRatio} + --test-ratio ${testRatio} leave nothing to train on; their sum must be < 1`);
}

/** How the images were split; by image for want of patient ids, it says what that costs. */
export function splitNote(grouped: boolean, g: Grouping): string {
  if (grouped) return g.groupPattern ? `split by patient (the part of each id matching /${g.groupPattern}/)` : 'split by patient';
  const splitBy = g.splitBy;
  // --split-by none asked for it; otherwise no manifest column gave patients.
  return splitBy === null ? 'split by image' : 'split by image: no patient ids in a manifest, so one patient\'s tiles can be in train and test alike';
}
