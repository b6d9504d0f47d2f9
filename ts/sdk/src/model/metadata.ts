/**
 * What a model file carries besides topology and weights, so that inference
 * reproduces training exactly: class names, the input preprocessing, and a
 * decision threshold chosen on validation data (binary models).
 */
import { ModelFormatError } from '../errors.js';

export type PreprocessingConfig =
  | { kind: 'none' }
  /** Pixel values divided by 255 (to [0, 1]). */
  | { kind: 'minmax' }
  /** VGG16/Caffe style: RGB → BGR, then per-channel mean subtracted (pixel values 0-255). */
  | { kind: 'caffe'; mean: [number, number, number] }
  /** Per-channel standardization with statistics of the training split (after /255). */
  | { kind: 'standardize'; mean: number[]; std: number[] };

export interface ModelMetadata {
  classNames: string[] | null;
  preprocessing: PreprocessingConfig;
  /** Decision threshold on the positive class probability (binary models), or null for arg-max / 0.5. */
  threshold: { positiveClass: number; value: number } | null;
}

export function defaultMetadata(): ModelMetadata {
  return { classNames: null, preprocessing: { kind: 'none' }, threshold: null };
}

export function checkMetadata(m: unknown): ModelMetadata {
  const bad = (what: string) => new ModelFormatError(`model file: invalid metadata: ${what}`);
  if (typeof m !== 'object' || m === null) throw bad('expected an object');
  const md = m as Partial<ModelMetadata>;
  if (md.classNames !== null && !(Array.isArray(md.classNames) && md.classNames.every((c) => typeof c === 'string'))) throw bad('classNames must be null or strings');
  const p = md.preprocessing as PreprocessingConfig | undefined;
  const kinds = ['none', 'minmax', 'caffe', 'standardize'];
  if (!p || !kinds.includes(p.kind)) throw bad(`preprocessing.kind must be one of ${kinds.join(', ')}`);
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
  const t = md.threshold;
  if (t === null) return;
  if (classes !== 2) throw bad(`a decision threshold applies to binary models; this one has ${classes} classes`);
  if (t.positiveClass > 1) throw bad(`threshold.positiveClass must be 0 or 1 for a binary model, got ${t.positiveClass}`);
}
