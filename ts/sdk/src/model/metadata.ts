/**
 * What a model file carries besides topology and weights, so that inference
 * reproduces training exactly: class names, the input preprocessing, stain
 * normalization, a probability calibration and a decision threshold chosen
 * on validation data (binary models).
 */
import { checkCalibration, type CalibrationConfig } from '../calibration/config.js';
import { ModelFormatError } from '../errors.js';

export type PreprocessingConfig =
  | { kind: 'none' }
  /** Pixel values divided by 255 (to [0, 1]). */
  | { kind: 'minmax' }
  /** VGG16/Caffe style: RGB → BGR, then per-channel mean subtracted (pixel values 0-255). */
  | { kind: 'caffe'; mean: [number, number, number] }
  /** Per-channel standardization with statistics of the training split (after /255). */
  | { kind: 'standardize'; mean: number[]; std: number[] };

/**
 * Stain normalization of RGB (H&E) images, fitted on the training images and
 * applied to every image before augmentation and preprocessing
 * (ts/sdk/src/stain). Each image is mapped to these target parameters.
 */
export type StainNormalizationConfig =
  /** Reinhard: per-image L*a*b* channel mean and standard deviation mapped to these. */
  | { kind: 'reinhard'; mean: [number, number, number]; std: [number, number, number] }
  /**
   * Macenko: per-image stain vectors (optical density, unit length) and 99th-percentile
   * concentrations mapped to these; `stains` is `[haematoxylin, eosin]`, each `[r, g, b]`.
   */
  | { kind: 'macenko'; stains: [[number, number, number], [number, number, number]]; maxConcentrations: [number, number] };

export type StainNormalizationKind = StainNormalizationConfig['kind'];
export const STAIN_NORMALIZATION_KINDS: readonly StainNormalizationKind[] = ['reinhard', 'macenko'];

export interface ModelMetadata {
  classNames: string[] | null;
  preprocessing: PreprocessingConfig;
  /** Stain normalization every input image gets first; absent or null: none (files before it existed). */
  stainNormalization?: StainNormalizationConfig | null;
  /**
   * Calibration `Model.predict` applies to the network's outputs (calibration/);
   * absent or null: none (files before it existed). The threshold, when both
   * are stored, is on the calibrated probabilities.
   */
  calibration?: CalibrationConfig | null;
  /** Decision threshold on the positive class probability (binary models), or null for arg-max / 0.5. */
  threshold: { positiveClass: number; value: number } | null;
}

export function defaultMetadata(): ModelMetadata {
  return { classNames: null, preprocessing: { kind: 'none' }, threshold: null };
}

/** `m` as metadata, checked; `where` names its source in errors (the file, and the entry holding it). */
export function checkMetadata(m: unknown, where = 'model file'): ModelMetadata {
  const bad = (what: string) => new ModelFormatError(`${where}: invalid metadata: ${what}`);
  if (typeof m !== 'object' || m === null) throw bad('expected an object');
  const md = m as Partial<ModelMetadata>;
  if (md.classNames !== null && !(Array.isArray(md.classNames) && md.classNames.every((c) => typeof c === 'string'))) throw bad('classNames must be null or strings');
  const p = md.preprocessing as PreprocessingConfig | undefined;
  const kinds = ['none', 'minmax', 'caffe', 'standardize'];
  if (!p || !kinds.includes(p.kind)) throw bad(`preprocessing.kind must be one of ${kinds.join(', ')}`);
  if (md.stainNormalization !== undefined && md.stainNormalization !== null) checkStainNormalization(md.stainNormalization, bad);
  if (md.calibration !== undefined && md.calibration !== null) checkCalibration(md.calibration, bad);
  if (md.threshold !== null && !(typeof md.threshold?.value === 'number' && md.threshold.value >= 0 && md.threshold.value <= 1 && Number.isInteger(md.threshold.positiveClass) && md.threshold.positiveClass >= 0)) {
    throw bad(`threshold must be null or { positiveClass >= 0, value in [0, 1] }, got ${JSON.stringify(md.threshold)?.slice(0, 200)}`);
  }
  return md as ModelMetadata;
}

/**
 * The stored decision against the model's class count: a threshold only on a
 * binary model, for class 0 or 1. A positive class out of range would
 * otherwise turn into a class index no output has (5 printed class
 * 4294967292). Class names are not checked: readers already fall back to
 * indices when their count differs.
 */
export function checkMetadataForClasses(md: ModelMetadata, classes: number, where: string): void {
  const bad = (what: string) => new ModelFormatError(`${where}: invalid metadata: ${what}`);
  if (md.calibration?.kind === 'platt' && classes !== 2) throw bad(`Platt calibration applies to binary models; this one has ${classes} classes`);
  const t = md.threshold;
  if (t === null) return;
  if (classes !== 2) throw bad(`a decision threshold applies to binary models; this one has ${classes} classes`);
  if (t.positiveClass > 1) throw bad(`threshold.positiveClass must be 0 or 1 for a binary model, got ${t.positiveClass}`);
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const triple = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every(finite);

/** Validates a stain normalization config; `bad` makes the error (metadata: ModelFormatError). */
export function checkStainNormalization(s: unknown, bad: (what: string) => Error): StainNormalizationConfig {
  const c = s as Partial<{ kind: unknown; mean: unknown; std: unknown; stains: unknown; maxConcentrations: unknown }> | null;
  if (typeof c !== 'object' || c === null || !STAIN_NORMALIZATION_KINDS.includes(c.kind as StainNormalizationKind)) {
    throw bad(`stainNormalization.kind must be one of ${STAIN_NORMALIZATION_KINDS.join(', ')}, got ${JSON.stringify(c?.kind ?? c)}`);
  }
  if (c.kind === 'reinhard') {
    if (!triple(c.mean)) throw bad(`stainNormalization (reinhard): mean must be 3 finite numbers (L*a*b*), got ${JSON.stringify(c.mean)}`);
    if (!triple(c.std) || !c.std.every((v) => v >= 0)) throw bad(`stainNormalization (reinhard): std must be 3 finite numbers >= 0, got ${JSON.stringify(c.std)}`);
  } else {
    const unit = (v: unknown) => triple(v) && Math.abs(Math.hypot(...v) - 1) < 1e-3 && v.every((x) => x >= 0);
    if (!(Array.isArray(c.stains) && c.stains.length === 2 && c.stains.every(unit))) {
      throw bad(`stainNormalization (macenko): stains must be 2 unit vectors [r, g, b] with components >= 0, got ${JSON.stringify(c.stains)}`);
    }
    const m = c.maxConcentrations;
    if (!(Array.isArray(m) && m.length === 2 && m.every((v) => finite(v) && v > 0))) {
      throw bad(`stainNormalization (macenko): maxConcentrations must be 2 finite numbers > 0, got ${JSON.stringify(m)}`);
    }
  }
  return c as StainNormalizationConfig;
}
