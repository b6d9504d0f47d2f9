/**
 * `--preset histology` and the stain options resolved into TrainOptions (what
 * config.json records): the preset's augmentation over the study's, flags
 * overriding it, and --stain-normalize.
 */
import { describe, expect, it } from 'vitest';
import { resolveTrainOptions } from '../src/train/options.js';
import { PRESETS } from '../src/model/presets.js';

const resolve = (raw: Parameters<typeof resolveTrainOptions>[0]) => resolveTrainOptions(raw, (p) => `/abs/${p}`);

describe('--preset histology', () => {
  it('is the BreakHis net with HED and colour jitter on top of the study\'s augmentation', () => {
    const o = resolve({ preset: 'histology', data: 'tiles' });
    const a = o.data.folder!.augment!;
    expect(a).toMatchObject({ rotationRange: 90, widthShiftRange: 0.2, horizontalFlip: true, verticalFlip: true, fillMode: 'reflect', stainScale: 0.05, stainShift: 0.05, hue: 0.02 });
    expect(o.data.folder!.stainNormalize).toBeNull();
    expect(o.epochs).toBe(20);
    expect(PRESETS.histology.layers).toBe(PRESETS.breakhis.layers); // the same network
    // The study's preset is unchanged: no stain jitter.
    expect(resolve({ preset: 'breakhis', data: 'tiles' }).data.folder!.augment).toMatchObject({ stainScale: 0, stainShift: 0, verticalFlip: false, rotationRange: 20 });
  });

  it('flags override the recipe; --stain-normalize none turns normalization off', () => {
    const o = resolve({ preset: 'histology', data: 'tiles', stainShift: 0.02, stainNormalize: 'macenko' });
    expect(o.data.folder!.augment).toMatchObject({ stainScale: 0.05, stainShift: 0.02 });
    expect(o.data.folder!.stainNormalize).toBe('macenko');
    expect(resolve({ preset: 'histology', data: 'tiles', stainNormalize: 'none' }).data.folder!.stainNormalize).toBeNull();
    expect(() => resolve({ preset: 'histology', data: 'tiles', augment: false, stainScale: 0.1 })).toThrow(/--stain-scale cannot be combined with --no-augment/);
  });
});
