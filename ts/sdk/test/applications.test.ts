/**
 * torchvision-compatible applications: exact structure (parameter counts,
 * shapes, module names) without building weights; a forward pass of the
 * small ones; the torchvision forward cross-check lives in
 * torchvision-crosscheck.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { applications, ConfigError } from '@lite-cnn/sdk';

describe('applications', () => {
  it.each([
    ['resnet18', applications.resnet18, 11_689_512],
    ['resnet50', applications.resnet50, 25_557_032],
    ['mobilenetV2', applications.mobilenetV2, 3_504_872],
    ['vgg16', applications.vgg16, 138_357_544],
  ] as const)('%s has torchvision’s %d trainable parameters at 1000 classes', (_, make, count) => {
    const m = make();
    expect(m.countParams().trainable).toBe(count);
    expect(m.plan().shapes.at(-1)).toEqual([1, 1, 1000]);
  });

  it('names layers after torchvision modules and maps every tensor to a state_dict key', () => {
    const keys = applications.torchvisionKeys(applications.resnet18());
    expect(keys.slice(0, 3).map((k) => k.key)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
    expect(keys.map((k) => k.key)).toContain('layer2.0.downsample.0.weight');
    expect(keys.map((k) => k.key)).toContain('layer4.1.bn2.running_var');
    expect(keys.at(-2)).toMatchObject({ key: 'fc.weight', layout: 'dense' });
    // torchvision's resnet18 state_dict: 62 parameters and 40 BatchNorm running statistics (num_batches_tracked aside).
    expect(keys.length).toBe(102);
    const mb = applications.torchvisionKeys(applications.mobilenetV2());
    expect(mb.find((k) => k.key === 'features.2.conv.1.0.weight')?.layout).toBe('depthwise');
    expect(mb.at(-1)?.key).toBe('classifier.1.bias');
  });

  it('builds heads and feature extractors like Keras (classes, includeTop, pooling)', () => {
    expect(applications.resnet18({ classes: 2, inputShape: [64, 64, 3] }).plan().shapes.at(-1)).toEqual([1, 1, 2]);
    expect(applications.resnet50({ includeTop: false }).plan().shapes.at(-1)).toEqual([7, 7, 2048]);
    expect(applications.mobilenetV2({ includeTop: false, pooling: 'avg' }).plan().shapes.at(-1)).toEqual([1, 1, 1280]);
    expect(() => applications.vgg16({ classes: 0 })).toThrow(ConfigError);
  });
});
