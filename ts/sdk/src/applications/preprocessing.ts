/**
 * The input preprocessing torchvision's ImageNet weights expect: RGB pixels
 * scaled to [0, 1], then standardized per channel with ImageNet's mean and
 * standard deviation (torchvision.transforms.Normalize). Set it as
 * `model.metadata.preprocessing` of an imported torchvision network so
 * fit/evaluate/predict on image datasets feed it what it was trained on.
 */
import type { PreprocessingConfig } from '../model/metadata.js';

export const TORCHVISION_PREPROCESSING: Readonly<Extract<PreprocessingConfig, { kind: 'standardize' }>> = Object.freeze({
  kind: 'standardize',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});
