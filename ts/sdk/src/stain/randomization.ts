/**
 * Stain randomization (RandStainNA, Shen et al. 2022): the distribution that
 * the augmentation kernel draws each training image's random L*a*b* target
 * from. `fitStainDistribution` (`fitDatasetStainDistribution` for an `ImageDataset`) measures every training image's per-channel
 * L*a*b* mean and standard deviation (the Reinhard statistics) and keeps, per
 * statistic, their mean and standard deviation over the images; pass it as
 * `AugmentationConfig.stainRandomization.distribution`. Fit it on the
 * training split only: it describes the stains a model may meet.
 */
import { ConfigError, DataError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { defaultEngine } from '../runtime/default-engine.js';
import { STAIN_PARAMS } from './abi.js';
import { stainParameters } from './kernels.js';
import type { StainOptions } from './normalization.js';

export type LabTriple = [number, number, number];

/** The spread of per-image L*a*b* statistics over a set of RGB images. */
export interface StainDistribution {
  /** Each image's channel means (L*, a*, b*): their mean and population standard deviation over the images. */
  means: { mean: LabTriple; std: LabTriple };
  /** Each image's channel standard deviations: their mean and population standard deviation over the images. */
  stds: { mean: LabTriple; std: LabTriple };
  /** How many images it was fitted on. */
  images: number;
}

function meanStd(values: number[]): [number, number] {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return [Math.fround(mean), Math.fround(Math.sqrt(variance))];
}

/** Fits the distribution on `images` (`[n, h, w, 3]` uint8, the training images). */
export async function fitStainDistribution(images: Uint8Array, shape: Shape3, opts: StainOptions = {}): Promise<StainDistribution> {
  const engine = opts.engine ?? (await defaultEngine());
  const { params } = stainParameters(engine, images, shape, 'reinhard');
  const n = params.length / STAIN_PARAMS;
  if (n < 2) throw new DataError(`stain randomization: fitting a spread needs at least 2 training images, got ${n}`);
  const column = (k: number) => meanStd(Array.from({ length: n }, (_, i) => params[i * STAIN_PARAMS + k]!));
  const triple = (first: number, which: 0 | 1): LabTriple => [column(first)[which], column(first + 1)[which], column(first + 2)[which]];
  return { means: { mean: triple(0, 0), std: triple(0, 1) }, stds: { mean: triple(3, 0), std: triple(3, 1) }, images: n };
}

/** Checks a distribution's shape and values (errors name the field and the received value). */
export function checkStainDistribution(d: StainDistribution, where: string): StainDistribution {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new ConfigError(`${where}: ${field} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
  };
  if (typeof d !== 'object' || d === null) bad('distribution', 'an object { means, stds, images } (fitStainDistribution)', d);
  for (const group of ['means', 'stds'] as const) {
    const g = d[group];
    if (typeof g !== 'object' || g === null) bad(group, 'an object { mean, std }', g);
    for (const part of ['mean', 'std'] as const) {
      const v = g[part];
      const spread = part === 'std' || group === 'stds';
      if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!spread || x >= 0))) {
        bad(`${group}.${part}`, `3 finite numbers (L*, a*, b*)${spread ? ' >= 0' : ''}`, v);
      }
    }
  }
  return d;
}
