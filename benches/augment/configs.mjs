// The measured augmentation configurations, written once by run.mjs into
// spec.json beside the tiles so that both sides (lite.mjs and
// torch_augment.py) read the same parameters: the study's affine
// augmentation (the SDK's studyAugmentation, so the peer's RandomAffine gets
// the same ranges, shear in degrees included) and what each configuration
// adds to it, in AugmentationConfig's names, plus the timing settings.
import { studyAugmentation } from '@lite-cnn/sdk';

export const BATCH = 32;

/** name, the AugmentationConfig fields added to the study's augmentation, and the batch mixing if any. */
export const CONFIGS = [
  { name: 'study', add: {} },
  // Tellez et al. 2019's HED jitter, a mild setting (docs/histology.md).
  { name: 'study + hed', add: { stainScale: 0.05, stainShift: 0.05 } },
  // torchvision ColorJitter's fields (AugmentationConfig has all four).
  { name: 'study + color', add: { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.05 } },
  // RandStainNA; the distribution (fitted on the tiles) is filled in by lite.mjs from spec.distribution.
  { name: 'study + randstain', add: { stainRandomization: { spread: 1, probability: 1 } } },
  // Batch mixing after the augmentation (fit's `mix`): MixUp at a common α, CutMix at torchvision's default.
  { name: 'study + mixup', add: {}, mix: { kind: 'mixup', alpha: 0.2 } },
  { name: 'study + cutmix', add: {}, mix: { kind: 'cutmix', alpha: 1 } },
];

/**
 * What run.mjs writes to spec.json: the study's ranges, the configurations,
 * the fitted stain distribution and the timing settings (benches/peers/timing.mjs',
 * which lite.mjs uses; torch_augment.py applies the same rules with them).
 */
export function makeSpec(distribution, timing) {
  return { batch: BATCH, study: { ...studyAugmentation }, configs: CONFIGS, distribution, timing };
}

/** The lite-cnn AugmentationConfig of configuration `c` under `spec`. */
export function augmentationOf(spec, c) {
  const add = c.add.stainRandomization ? { ...c.add, stainRandomization: { ...c.add.stainRandomization, distribution: spec.distribution } } : c.add;
  return { ...spec.study, ...add };
}
