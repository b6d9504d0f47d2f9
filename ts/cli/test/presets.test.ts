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

describe('torchvision presets and --from take the data\'s classes', () => {
  it('resnet18 and mobilenetv2 build their head for the class count they are given', () => {
    for (const name of ['resnet18', 'mobilenetv2'] as const) {
      expect(PRESETS[name].headFromData).toBe(true);
      const model = PRESETS[name].layers(5);
      expect('classes' in model && model.classes).toBe(5);
    }
  });

  it('--from resolves to the fine-tuning recipe: the last 20 layers, torchvision preprocessing, the model\'s input size', () => {
    const o = resolve({ from: 'resnet50.onnx', data: 'tiles' });
    expect(o).toMatchObject({ preset: null, architecture: null, from: '/abs/resnet50.onnx', trainableLast: 20, learningRate: 1e-4, epochs: 2, classWeight: 'balanced' });
    expect(o.data.preprocess).toBe('torchvision');
    expect(o.data.folder!.imageSize).toBeNull();
    expect(resolve({ from: 'm.safetensors', data: 'tiles', trainableLast: 3, imageSize: [64, 64] })).toMatchObject({ trainableLast: 3, data: { folder: { imageSize: [64, 64] } } });
    expect(resolve({ preset: 'breakhis', data: 'tiles' }).trainableLast).toBeNull();
  });
});
