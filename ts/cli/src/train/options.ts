/**
 * `lite-cnn train` options: the raw values commander parsed, and their
 * resolution against the preset's recipe into one complete, validated
 * `TrainOptions` — the object config.json records and `--resume` reads back.
 */
import { studyAugmentation, type CalibrationKind, type MixArgs, type MixKind, type OptimizerName, type StainNormalizationKind } from '@lite-cnn/sdk';
import { flag } from '../ui/format.js';
import { UsageError } from '../errors.js';
import { isOnnxPath } from '../model/load.js';
import type { ThresholdRule } from './threshold-rule.js';
import { DEFAULT_TRAINABLE_LAST, FINE_TUNE_RECIPE, PRESETS, type PresetName, type Recipe } from '../model/presets.js';
import { checkSplitRatios, DEFAULT_SPLIT_RATIO, groupPatternOption, splitByOption, splitSeedOf, type AugmentOptions, type DataOptions, type FolderOptions, type PreprocessName } from '../data/options.js';

export interface RawTrainOptions {
  preset?: PresetName;
  model?: string;
  from?: string;
  trainableLast?: number;
  data?: string;
  limit?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: OptimizerName;
  l2?: number;
  l2Form?: 'keras' | 'study';
  labelSmoothing?: number;
  mixup?: number;
  cutmix?: number;
  weightDecay?: number;
  classWeight?: 'balanced' | 'none';
  patience?: number;
  lrSchedule?: 'step' | 'exponential' | 'cosine' | 'none';
  lrDecay?: number;
  lrStep?: number;
  lrWarmup?: number;
  evalEvery?: number;
  threads?: number;
  /** --no-prefetch: false (a runtime choice like --threads: not recorded in config.json). */
  prefetch?: boolean;
  seed?: number;
  splitSeed?: number;
  out?: string;
  resume?: string;
  json?: boolean;
  imageSize?: [number, number];
  aspect?: 'squash' | 'center-crop';
  preprocess?: PreprocessName;
  splitBy?: string;
  groupPattern?: string;
  valRatio?: number;
  testRatio?: number;
  augment?: boolean;
  rotationRange?: number;
  widthShiftRange?: number;
  heightShiftRange?: number;
  shearRange?: number;
  zoomRange?: number;
  horizontalFlip?: boolean;
  verticalFlip?: boolean;
  fillMode?: AugmentOptions['fillMode'];
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
  stainScale?: number;
  stainShift?: number;
  stainRandomize?: number;
  stainRandomizeProbability?: number;
  stainNormalize?: StainNormalizationKind | 'none';
  oversample?: boolean;
  onBadImage?: 'skip' | 'fail';
  followSymlinks?: boolean;
  targetRecall?: number;
  positive?: string;
  minEpochs?: number;
  cv?: number;
  thresholdCv?: number;
  ensemble?: number;
  thresholdRule?: ThresholdRule;
  calibrate?: CalibrationKind;
}

export type LrSchedule =
  | { kind: 'step'; dropEvery: number; factor: number }
  | { kind: 'exponential'; decayRate: number }
  | { kind: 'cosine'; warmupEpochs: number };

export interface TrainOptions {
  /** The preset the topology and defaults come from, or null for an arch.json. */
  preset: PresetName | null;
  /** The arch.json the topology comes from (absolute), or null for a preset. */
  architecture: string | null;
  /**
   * `--preset P --model arch.json`: the preset whose recipe (optimizer, epochs,
   * L2, class weights, augmentation, threshold rule...) trains the arch.json's
   * network; null otherwise (absent in configs before it existed: null).
   */
  recipe?: PresetName | null;
  /** --from: the pretrained model (.onnx or .safetensors, absolute) fine-tuned with a new head for the data's classes (absent in configs before it existed: null). */
  from?: string | null;
  /** --trainable-last N: all layers but the last N are frozen (Keras' sense of layers); null: all trainable. */
  trainableLast?: number | null;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** AdamW's decoupled weight decay (null: not AdamW). */
  weightDecay: number | null;
  l2: { lambda: number; form: 'keras' | 'study' } | null;
  /**
   * --label-smoothing s (Keras' `label_smoothing`): the loss's targets become
   * `y·(1 - s) + s/classes` (binary: `y·(1 - s) + s/2`); 0 or absent (configs
   * before it existed): none.
   */
  labelSmoothing?: number;
  /**
   * --mixup α / --cutmix α: every training batch mixed (the SDK's
   * `fit({ mix })`); null or absent (configs before it existed): none.
   */
  mix?: MixArgs | null;
  classWeight: 'balanced' | null;
  /** EarlyStopping on val_loss with restoreBestWeights, or null. */
  patience: number | null;
  lrSchedule: LrSchedule | null;
  evalEvery: number | null;
  seed: number;
  /**
   * Epochs before this one (1-based) are never chosen as the best model and
   * not watched by early stopping (null: every epoch counts). A validation
   * split of a few patients is noisy: without it the best val_loss is often
   * epoch 1 or 2 (ARCHITECTURE.md §7).
   */
  minEpochs?: number | null;
  /**
   * --calibrate: the probability calibration fitted on the held-out predictions
   * (validation split, or --threshold-cv's pooled ones) and stored with the
   * model; null: none (absent in configs before it existed: none).
   */
  calibration?: CalibrationKind | null;
  /** --target-recall R --positive CLASS: choose and store a decision threshold (null: none). */
  operatingPoint?: { targetRecall: number; positive: string; rule: ThresholdRule } | null;
  /** --positive CLASS: the class reports and cross-validation call positive (null: class 1 of binary models). */
  positive?: string | null;
  /** --cv K: K-fold cross-validation (by patient when known) instead of one train/val/test split. */
  cv?: { folds: number } | null;
  /**
   * --threshold-cv K: the epoch count and the --target-recall threshold come from the pooled
   * out-of-fold predictions of a K-fold patient-level CV of the training patients, and the stored
   * model is trained on all of them (train/threshold-cv.ts); null: the validation split decides.
   */
  thresholdCv?: { folds: number } | null;
  /**
   * --ensemble N: N members trained alike on the same split (member k, from 0,
   * with seed `seed + k`: its initialization, shuffling, dropout and
   * augmentation), stored as one model averaging their softmax probabilities;
   * null: one model (absent in configs before it existed: one model).
   */
  ensemble?: { members: number } | null;
  /**
   * Data as DataOptions without the model's input shape (known once the model is built); its
   * preprocessing is a kind, or PRETRAINED_PREPROCESSING: the --from model file's own (run-model.ts, dataOptionsFor).
   */
  data: Omit<DataOptions, 'inputShape' | 'preprocess'> & { preprocess: PreprocessName | typeof PRETRAINED_PREPROCESSING };
}

/**
 * The study's augmentation: the SDK's `studyAugmentation`, with every field
 * filled in so config.json records exactly what was applied.
 */
export const STUDY_AUGMENTATION: AugmentOptions = {
  rotationRange: 0,
  widthShiftRange: 0,
  heightShiftRange: 0,
  shearRange: 0,
  zoomRange: 0,
  horizontalFlip: false,
  verticalFlip: false,
  fillMode: 'nearest',
  brightness: 0,
  contrast: 0,
  saturation: 0,
  hue: 0,
  stainScale: 0,
  stainShift: 0,
  stainRandomize: 0,
  stainRandomizeProbability: 1,
  ...(studyAugmentation as Partial<AugmentOptions>),
};

const FOLDER_ONLY: (keyof RawTrainOptions)[] = [
  'imageSize', 'aspect', 'splitBy', 'splitSeed', 'groupPattern', 'valRatio', 'testRatio', 'augment', 'rotationRange', 'widthShiftRange', 'heightShiftRange',
  'shearRange', 'zoomRange', 'horizontalFlip', 'verticalFlip', 'fillMode', 'brightness', 'contrast', 'saturation', 'hue', 'stainScale', 'stainShift', 'stainRandomize', 'stainRandomizeProbability', 'stainNormalize', 'oversample', 'onBadImage', 'followSymlinks',
  'targetRecall', 'positive', 'cv', 'thresholdCv', 'thresholdRule',
];

/** Validation fraction of the training folds' images in cross-validation (enough for a benign patient or two). */
export const CV_VAL_RATIO = 0.2;

/** The seeds of a run, for its recipe line: `seed 3`, and the split's when --split-seed made it another. */
export function seedText(o: Pick<TrainOptions, 'seed' | 'data' | 'ensemble'>): string {
  const f = o.data.folder;
  const split = f && splitSeedOf(f, o.seed) !== o.seed ? ` (split seed ${splitSeedOf(f, o.seed)})` : '';
  const members = o.ensemble?.members;
  return members ? `ensemble of ${members}, seeds ${o.seed}-${memberSeed(o, members - 1)}${split}` : `seed ${o.seed}${split}`;
}

/** A run's recipe line: optimizer, learning rate, batch, epochs, seeds, penalty, label smoothing, mixing, class weights, early stopping. */
export function recipeText(o: TrainOptions, regularizer: string | null): string {
  return `${o.optimizer} lr ${o.learningRate}, batch ${o.batchSize}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, ${seedText(o)}${regularizer ? `, ${regularizer}` : ''}${o.labelSmoothing ? `, label smoothing ${o.labelSmoothing}` : ''}${o.mix ? `, ${MIX_NAMES[o.mix.kind]} α ${o.mix.alpha}` : ''}${o.classWeight ? ', balanced class weights' : ''}${o.patience !== null ? `, early stopping (patience ${o.patience})` : ''}`;
}

const MIX_NAMES: Record<MixKind, string> = { mixup: 'MixUp', cutmix: 'CutMix' };

/** --mixup α or --cutmix α (one of them), or null. */
function mixOption(raw: RawTrainOptions): MixArgs | null {
  if (raw.mixup !== undefined && raw.cutmix !== undefined) throw new UsageError('--mixup and --cutmix cannot be combined: choose one');
  if (raw.mixup !== undefined) return { kind: 'mixup', alpha: raw.mixup };
  if (raw.cutmix !== undefined) return { kind: 'cutmix', alpha: raw.cutmix };
  return null;
}

/** What the run trains, for its first output line: the preset, the arch.json or the fine-tuned model. */
export function describeModelSource(o: TrainOptions): string {
  if (o.preset) return `preset '${o.preset}'`;
  if (o.from) return `${o.from} fine-tuned${o.trainableLast ? ` (last ${o.trainableLast} layers trainable)` : ''}`;
  return o.recipe ? `${o.architecture} with the recipe of preset '${o.recipe}'` : String(o.architecture);
}

function augmentation(raw: RawTrainOptions, recipe: Recipe): AugmentOptions | null {
  const base: AugmentOptions = { ...STUDY_AUGMENTATION, ...recipe.augmentation };
  const ranges = {
    rotationRange: raw.rotationRange,
    widthShiftRange: raw.widthShiftRange,
    heightShiftRange: raw.heightShiftRange,
    shearRange: raw.shearRange,
    zoomRange: raw.zoomRange,
    horizontalFlip: raw.horizontalFlip,
    verticalFlip: raw.verticalFlip,
    fillMode: raw.fillMode,
    brightness: raw.brightness,
    contrast: raw.contrast,
    saturation: raw.saturation,
    hue: raw.hue,
    stainScale: raw.stainScale,
    stainShift: raw.stainShift,
    stainRandomize: raw.stainRandomize,
    stainRandomizeProbability: raw.stainRandomizeProbability,
  };
  const given = Object.entries(ranges).filter(([, v]) => v !== undefined);
  const on = raw.augment ?? (given.length > 0 || recipe.augment);
  if (!on) {
    if (given.length > 0) throw new UsageError(`${given.map(([k]) => flag(k)).join(', ')} cannot be combined with --no-augment`);
    return null;
  }
  const out: AugmentOptions = { ...base };
  for (const [k, v] of given) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

function folderOptions(raw: RawTrainOptions, recipe: Recipe): FolderOptions {
  if (raw.cv !== undefined && raw.testRatio !== undefined) throw new UsageError('--cv K tests on each fold in turn: --test-ratio does not apply (--val-ratio is the validation fraction of the training folds)');
  const valRatio = raw.valRatio ?? (raw.cv !== undefined ? CV_VAL_RATIO : DEFAULT_SPLIT_RATIO);
  const testRatio = raw.cv !== undefined ? 0 : (raw.testRatio ?? DEFAULT_SPLIT_RATIO);
  checkSplitRatios(valRatio, testRatio);
  const splitBy = splitByOption(raw.splitBy);
  return {
    // A preset's input is its recipe's; an arch.json or a pretrained model has its own (null: the network's).
    imageSize: raw.imageSize ?? (raw.from !== undefined || raw.model !== undefined ? null : [recipe.inputShape[0], recipe.inputShape[1]]),
    aspect: raw.aspect ?? 'squash',
    splitBy,
    groupPattern: groupPatternOption(raw.groupPattern, splitBy),
    valRatio,
    testRatio,
    splitSeed: raw.splitSeed ?? raw.seed ?? 0,
    augment: augmentation(raw, recipe),
    stainNormalize: raw.stainNormalize === 'none' ? null : (raw.stainNormalize ?? recipe.stainNormalize ?? null),
    oversample: raw.oversample ?? false,
    onBadImage: raw.onBadImage ?? 'fail',
    followSymlinks: raw.followSymlinks ?? false,
  };
}

function lrSchedule(raw: RawTrainOptions, epochs: number): LrSchedule | null {
  const kind = raw.lrSchedule ?? 'none';
  const extras = (['lrDecay', 'lrStep', 'lrWarmup'] as const).filter((k) => raw[k] !== undefined);
  if (kind === 'none') {
    if (extras.length) throw new UsageError(`${extras.map(flag).join(', ')} need --lr-schedule step|exponential|cosine`);
    return null;
  }
  const unused = (allowed: string[]) => extras.filter((k) => !allowed.includes(k));
  const reject = (bad: string[]) => {
    if (bad.length) throw new UsageError(`${bad.map(flag).join(', ')} do not apply to --lr-schedule ${kind}`);
  };
  switch (kind) {
    case 'step':
      reject(unused(['lrDecay', 'lrStep']));
      return { kind, dropEvery: raw.lrStep ?? 1, factor: raw.lrDecay ?? 0.5 };
    case 'exponential':
      reject(unused(['lrDecay']));
      return { kind, decayRate: raw.lrDecay ?? 0.9 };
    case 'cosine': {
      reject(unused(['lrWarmup']));
      const warmupEpochs = raw.lrWarmup ?? 0;
      if (warmupEpochs >= epochs) throw new UsageError(`--lr-warmup ${warmupEpochs} must be less than --epochs ${epochs}`);
      return { kind, warmupEpochs };
    }
  }
}

/**
 * --threshold-cv K (0: off), else the preset's method when a threshold is asked for
 * (--target-recall). It replaces the validation split's choices, so what only
 * the validation split drives is refused.
 */
function thresholdCvOption(raw: RawTrainOptions, recipe: Recipe): { folds: number } | null {
  if (raw.thresholdCv !== undefined && raw.targetRecall === undefined) {
    throw new UsageError('--threshold-cv K chooses the --target-recall threshold: it needs --target-recall R --positive CLASS');
  }
  const folds = raw.thresholdCv ?? (raw.targetRecall !== undefined ? (recipe.thresholdCv ?? 0) : 0);
  if (folds === 0) return null;
  if (folds < 2) throw new UsageError(`--threshold-cv needs at least 2 folds (0: off), got ${folds}`);
  const conflicting = (['patience', 'evalEvery'] as const).filter((k) => raw[k] !== undefined);
  if (conflicting.length) {
    throw new UsageError(`${conflicting.map(flag).join(', ')} use the validation split, which --threshold-cv ${folds} replaces by an inner cross-validation${raw.thresholdCv === undefined ? ' (the preset\'s method; --threshold-cv 0 turns it off)' : ''}`);
  }
  return { folds };
}

/** --ensemble N: members (1 is one model: off). */
function ensembleOption(raw: RawTrainOptions, thresholdCv: boolean): { members: number } | null {
  const members = raw.ensemble ?? 1;
  if (members === 1) return null;
  if (thresholdCv) throw new UsageError(`--ensemble ${members} chooses the ensemble's threshold on its validation predictions; it cannot be combined with --threshold-cv (--threshold-cv 0 turns it off)`);
  if (!Number.isSafeInteger((raw.seed ?? 0) + members - 1)) throw new UsageError(`--ensemble ${members}: member seeds run from --seed to --seed + ${members - 1}, past the largest seed`);
  return { members };
}

/** The seed member `k` (from 0) of an --ensemble trains with: --seed for the first, then the next ones. */
export function memberSeed(o: Pick<TrainOptions, 'seed'>, k: number): number {
  return o.seed + k;
}

/** The recipe's default --min-epochs where the option itself would be accepted (a validation split, at most --epochs); else none. */
function presetMinEpochs(recipe: Recipe, epochs: number, hasValidation: boolean): number | null {
  const m = recipe.minEpochs;
  return m !== undefined && hasValidation && m <= epochs ? m : null;
}

/** `train --from model.safetensors` without --preprocess: the preprocessing stored in that file, which its weights were trained with. */
export const PRETRAINED_PREPROCESSING = 'pretrained';

export function resolveTrainOptions(raw: RawTrainOptions, resolvePath: (p: string) => string): TrainOptions {
  // --preset with --model: the preset's recipe for the arch.json's network; --from brings its own network and recipe.
  const sources = (['preset', 'model', 'from'] as const).filter((k) => raw[k] !== undefined);
  if (raw.from !== undefined && sources.length > 1) throw new UsageError(`give one of --preset, --model arch.json or --from model.onnx|model.safetensors, not ${sources.map(flag).join(' and ')}`);
  if (raw.from !== undefined && raw.data === undefined) throw new UsageError('--from fine-tunes a pretrained model on an image folder: it needs --data DIR');
  if (raw.model !== undefined && !raw.model.toLowerCase().endsWith('.json')) {
    throw new UsageError(`--model for train takes an architecture file (arch.json), got '${raw.model}'; to continue a run use --resume RUN_DIR`);
  }
  const presetName: PresetName | null = raw.model !== undefined || raw.from !== undefined ? null : (raw.preset ?? 'mnist');
  const recipeName: PresetName | null = raw.from !== undefined ? null : (raw.preset ?? presetName);
  // An arch.json without --preset brings no recipe: it trains with the MNIST defaults unless told otherwise.
  const recipe = raw.from !== undefined ? FINE_TUNE_RECIPE : PRESETS[recipeName ?? 'mnist'].recipe;
  const folder = raw.data !== undefined;
  if (!folder && recipeName !== null && recipe.defaultData === null) {
    throw new UsageError(`--preset ${recipeName} needs --data DIR (a folder of class subfolders, e.g. benign/ and malignant/)`);
  }
  if (!folder) {
    const given = FOLDER_ONLY.filter((k) => raw[k] !== undefined);
    if (given.length) throw new UsageError(`${given.map(flag).join(', ')} only apply to image folders (--data DIR)`);
  }
  const optimizer = raw.optimizer ?? recipe.optimizer;
  if (raw.weightDecay !== undefined && optimizer !== 'adamw') {
    throw new UsageError('--weight-decay is AdamW\'s decoupled decay: add --optimizer adamw (for a loss penalty use --l2)');
  }
  const epochs = raw.epochs ?? recipe.epochs;
  if (raw.from !== undefined && (raw.l2 !== undefined || raw.l2Form !== undefined)) {
    throw new UsageError('--l2 sets the kernel penalty of a --preset or --model network; a --from model keeps the regularizers stored with its layers');
  }
  const l2Lambda = raw.l2 ?? recipe.l2?.lambda;
  if (raw.l2Form !== undefined && l2Lambda === undefined) throw new UsageError('--l2-form needs --l2 <lambda>');
  if (raw.patience !== undefined && folder && raw.valRatio === 0) throw new UsageError('--patience watches val_loss: it needs a validation split (--val-ratio > 0)');
  if (raw.evalEvery !== undefined && folder && raw.valRatio === 0) throw new UsageError('--eval-every evaluates on the validation split: it needs --val-ratio > 0');
  if (raw.cv !== undefined && raw.cv < 2) throw new UsageError(`--cv needs at least 2 folds, got ${raw.cv}`);
  if (raw.targetRecall !== undefined && raw.positive === undefined) throw new UsageError('--target-recall R needs --positive CLASS: the class whose recall must reach R (e.g. --positive malignant)');
  if (raw.thresholdRule !== undefined && raw.targetRecall === undefined) throw new UsageError('--threshold-rule says how --target-recall chooses the threshold: it needs --target-recall R --positive CLASS');
  if (raw.targetRecall !== undefined && raw.valRatio === 0) throw new UsageError('--target-recall chooses the threshold on the validation split: it needs --val-ratio > 0');
  if (raw.minEpochs !== undefined && raw.minEpochs > epochs) throw new UsageError(`--min-epochs ${raw.minEpochs} is more than --epochs ${epochs}`);
  if (raw.minEpochs !== undefined && folder && raw.valRatio === 0) throw new UsageError('--min-epochs delays model selection on the validation split: it needs --val-ratio > 0');
  const thresholdCv = thresholdCvOption(raw, recipe);
  const ensemble = ensembleOption(raw, thresholdCv !== null);
  const calibration = raw.calibrate ?? null;
  if (calibration !== null && folder && raw.valRatio === 0 && !thresholdCv) {
    throw new UsageError('--calibrate fits on the validation split (or --threshold-cv\'s out-of-fold predictions): it needs --val-ratio > 0');
  }
  return {
    preset: presetName,
    architecture: raw.model === undefined ? null : resolvePath(raw.model),
    recipe: raw.model !== undefined && raw.preset !== undefined ? raw.preset : null,
    from: raw.from === undefined ? null : resolvePath(raw.from),
    trainableLast: raw.trainableLast ?? (raw.from !== undefined ? DEFAULT_TRAINABLE_LAST : null),
    epochs,
    batchSize: raw.batchSize ?? recipe.batchSize,
    optimizer,
    learningRate: raw.lr ?? recipe.learningRate,
    weightDecay: optimizer === 'adamw' ? (raw.weightDecay ?? 0.004) : null,
    l2: l2Lambda === undefined || l2Lambda === 0 ? null : { lambda: l2Lambda, form: raw.l2Form ?? recipe.l2?.form ?? 'keras' },
    labelSmoothing: raw.labelSmoothing ?? 0,
    mix: mixOption(raw),
    classWeight: raw.classWeight === undefined ? recipe.classWeight : raw.classWeight === 'none' ? null : 'balanced',
    patience: raw.patience ?? null,
    lrSchedule: lrSchedule(raw, epochs),
    evalEvery: raw.evalEvery ?? null,
    minEpochs: raw.minEpochs ?? presetMinEpochs(recipe, epochs, !folder || raw.valRatio !== 0),
    calibration,
    operatingPoint: raw.targetRecall === undefined ? null : { targetRecall: raw.targetRecall, positive: raw.positive!, rule: raw.thresholdRule ?? recipe.thresholdRule ?? 'recall' },
    positive: raw.positive ?? null,
    cv: raw.cv === undefined ? null : { folds: raw.cv },
    thresholdCv,
    ensemble,
    seed: raw.seed ?? 0,
    data: {
      source: folder ? { kind: 'folder', dir: resolvePath(raw.data!) } : { kind: 'mnist' },
      // An ONNX network brings no preprocessing (the fine-tuning recipe's torchvision one fits torchvision's weights); a lite-cnn file has its own.
      preprocess: raw.preprocess ?? (raw.from !== undefined && !isOnnxPath(raw.from) ? PRETRAINED_PREPROCESSING : recipe.preprocess),
      limit: raw.limit ?? null,
      seed: raw.seed ?? 0,
      folder: folder ? folderOptions(raw, recipe) : null,
    },
  };
}
