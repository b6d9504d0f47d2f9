/**
 * `--preset histology` and the stain options resolved into TrainOptions (what
 * config.json records): the preset's augmentation over the study's, flags
 * overriding it, and --stain-normalize.
 */
import { describe, expect, it } from 'vitest';
import { resolveTrainOptions } from '../src/train/options.js';
import { Sequential } from '@lite-cnn/sdk';
import { PRESETS } from '../src/model/presets.js';

const resolve = (raw: Parameters<typeof resolveTrainOptions>[0]) => resolveTrainOptions(raw, (p) => `/abs/${p}`);

describe('--preset histology', () => {
  const target = { targetRecall: 0.9, positive: 'malignant' };

  it("is the BreakHis net and augmentation with 30 epochs, the best epoch from 10 on and the 'floor' threshold rule", () => {
    const o = resolve({ preset: 'histology', data: 'tiles', ...target });
    expect(o.epochs).toBe(30);
    expect(o.minEpochs).toBe(10);
    expect(o.operatingPoint).toEqual({ targetRecall: 0.9, positive: 'malignant', rule: 'floor' });
    expect(o.thresholdCv).toBeNull();
    expect(o.data.folder!.stainNormalize).toBeNull();
    // The study's augmentation: the stain, flip and rotation candidate lost on the selection seed.
    expect(o.data.folder!.augment).toEqual(resolve({ preset: 'breakhis', data: 'tiles' }).data.folder!.augment);
    expect(o.data.folder!.augment).toMatchObject({ rotationRange: 20, verticalFlip: false, stainScale: 0, stainShift: 0 });
    expect(PRESETS.histology.layers).toBe(PRESETS.breakhis.layers); // the same network
    // The study's preset is unchanged.
    const b = resolve({ preset: 'breakhis', data: 'tiles', ...target });
    expect([b.epochs, b.minEpochs, b.operatingPoint!.rule]).toEqual([2, null, 'recall']);
  });

  it('flags override the recipe: epochs, min-epochs, threshold rule, stain options', () => {
    expect(resolve({ preset: 'histology', data: 'tiles', ...target, thresholdRule: 'recall' }).operatingPoint!.rule).toBe('recall');
    expect(resolve({ preset: 'breakhis', data: 'tiles', ...target, thresholdRule: 'floor' }).operatingPoint!.rule).toBe('floor');
    expect(resolve({ preset: 'histology', data: 'tiles', minEpochs: 4 }).minEpochs).toBe(4);
    // The preset's --min-epochs applies only where the option would: enough epochs and a validation split.
    expect(resolve({ preset: 'histology', data: 'tiles', epochs: 8 }).minEpochs).toBeNull();
    expect(resolve({ preset: 'histology', data: 'tiles', epochs: 10 }).minEpochs).toBe(10);
    expect(resolve({ preset: 'histology', data: 'tiles', valRatio: 0 }).minEpochs).toBeNull();
    expect(() => resolve({ preset: 'histology', data: 'tiles', thresholdRule: 'floor' })).toThrow(/--threshold-rule says how --target-recall chooses the threshold: it needs --target-recall R --positive CLASS/);
    const o = resolve({ preset: 'histology', data: 'tiles', stainScale: 0.05, stainShift: 0.02, stainNormalize: 'macenko' });
    expect(o.data.folder!.augment).toMatchObject({ stainScale: 0.05, stainShift: 0.02 });
    expect(o.data.folder!.stainNormalize).toBe('macenko');
    expect(resolve({ preset: 'histology', data: 'tiles', stainNormalize: 'none' }).data.folder!.stainNormalize).toBeNull();
    expect(() => resolve({ preset: 'histology', data: 'tiles', augment: false, stainScale: 0.1 })).toThrow(/--stain-scale cannot be combined with --no-augment/);
  });
});

describe('presets and --from take the data\'s classes', () => {
  it('resnet18 and mobilenetv2 build their head for the class count they are given', () => {
    for (const name of ['resnet18', 'mobilenetv2'] as const) {
      const model = PRESETS[name].layers(5);
      expect('classes' in model && model.classes).toBe(5);
    }
  });

  it("every preset's recipe input shape (what the data is decoded to before the network is built for its classes) is its network's", () => {
    for (const preset of Object.values(PRESETS)) {
      const layers = preset.layers(3);
      const shape = Array.isArray(layers) ? new Sequential(layers).inputShape : layers.inputShape;
      expect(shape, preset.name).toEqual(preset.recipe.inputShape);
    }
  });

  it("the study's nets keep their own head by default (10 and 2 classes) and size it for the data's classes", () => {
    const units = (layers: ReturnType<(typeof PRESETS)['mnist']['layers']>) => {
      const last = Array.isArray(layers) ? layers.at(-1)!.getConfig() : null;
      return last?.kind === 'Dense' ? last.units : null;
    };
    expect(units(PRESETS.mnist.layers())).toBe(10);
    expect(units(PRESETS.mnist.layers(3))).toBe(3);
    for (const name of ['breakhis', 'histology'] as const) {
      expect(units(PRESETS[name].layers())).toBe(2);
      expect(units(PRESETS[name].layers(8))).toBe(8);
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

  it("--preset P --model arch.json: P's recipe for the arch.json's network; --from still excludes both", () => {
    const o = resolve({ preset: 'histology', model: 'net.json', data: 'tiles', targetRecall: 0.9, positive: 'malignant' });
    expect(o).toMatchObject({ preset: null, architecture: '/abs/net.json', recipe: 'histology', epochs: 30, minEpochs: 10, learningRate: 0.001, classWeight: 'balanced', l2: { lambda: 0.1, form: 'keras' } });
    expect(o.operatingPoint).toMatchObject({ targetRecall: 0.9, rule: 'floor' });
    expect(o.data.folder!.augment).not.toBeNull();
    expect(o.data.folder!.imageSize).toBeNull();
    // Without --preset an arch.json keeps the mnist defaults, and records no recipe.
    expect(resolve({ model: 'net.json', data: 'tiles' })).toMatchObject({ recipe: null, epochs: 1, learningRate: 0.01, l2: null });
    expect(() => resolve({ preset: 'histology', model: 'net.json' })).toThrow(/--preset histology needs --data DIR/);
    expect(() => resolve({ preset: 'breakhis', from: 'm.onnx', data: 'tiles' })).toThrow(/not --preset and --from/);
    expect(() => resolve({ model: 'net.json', from: 'm.onnx', data: 'tiles' })).toThrow(/not --model and --from/);
  });

  it("an arch.json's images are resized to its own input, not to the default recipe's 28x28 (unless --image-size says so)", () => {
    expect(resolve({ model: 'arch.json', data: 'tiles' }).data.folder!.imageSize).toBeNull();
    expect(resolve({ model: 'arch.json', data: 'tiles', imageSize: [64, 48] }).data.folder!.imageSize).toEqual([64, 48]);
    expect(resolve({ preset: 'breakhis', data: 'tiles' }).data.folder!.imageSize).toEqual([224, 224]);
  });
});
