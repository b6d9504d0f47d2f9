/**
 * withNewHead and freezeAllButLast: a pretrained network gets a fresh
 * classifier for a new task with every other weight kept, and Keras-style
 * freezing of all but its last layers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications, BatchNormalization, ConfigError, Dense, Engine, freezeAllButLast, input, Model, withNewHead } from '@lite-cnn/sdk';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});
afterAll(async () => engine?.shutdown());

describe('withNewHead', () => {
  it('replaces the last Dense by Dense(classes, softmax) and keeps every other weight', async () => {
    const base = applications.resnet18({ inputShape: [32, 32, 3], classes: 10, classifierActivation: 'linear', seed: 3, engine });
    await base.build({ batchSize: 1 });
    base.getLayer('layer4.1.bn2').trainable = false;
    const model = await withNewHead(base, { classes: 3, seed: 5 });
    expect(model.outputShape).toEqual([1, 1, 3]);
    expect(model.getLayer('fc').getConfig()).toMatchObject({ kind: 'Dense', units: 3, activation: 'softmax', useBias: true });
    expect(model.getLayer('layer4.1.bn2').trainable).toBe(false);
    const before = base.getWeights();
    const after = model.getWeights();
    const fc = model.layers.findIndex((l) => l.name === 'fc');
    for (const [name, w] of after) {
      if (name.startsWith(`layers.${fc}.`)) continue;
      expect(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(before.get(name)!.buffer, before.get(name)!.byteOffset, before.get(name)!.byteLength)), name).toBe(true);
    }
    expect(after.get(`layers.${fc}.kernel`)!.length).toBe(512 * 3);
    expect(after.get(`layers.${fc}.bias`)).toEqual(new Float32Array(3));
    const x = Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i));
    const p = await model.predict({ data: x, shape: [2, 32, 32, 3] });
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
    base.dispose();
    model.dispose();
  });

  it('refuses a model without a Dense head, a non-weight-free layer after it, and fewer than 2 classes', async () => {
    const features = applications.mobilenetV2({ inputShape: [32, 32, 3], includeTop: false, pooling: 'avg', engine });
    await features.build({ batchSize: 1 });
    await expect(withNewHead(features, { classes: 2 })).rejects.toThrow(ConfigError);
    await expect(withNewHead(features, { classes: 2 })).rejects.toThrow(/has no Dense classifier layer to replace/);
    const top = applications.mobilenetV2({ inputShape: [32, 32, 3], classes: 4, engine });
    await top.build({ batchSize: 1 });
    await expect(withNewHead(top, { classes: 1 })).rejects.toThrow(/classes must be an integer >= 2, got 1/);
    const x = input({ shape: [8] });
    const normalized = new Model({ inputs: x, outputs: new BatchNormalization({ name: 'bn' }).apply(new Dense({ name: 'fc', units: 4 }).apply(x)), engine });
    await normalized.build({ batchSize: 1 });
    await expect(withNewHead(normalized, { classes: 2 })).rejects.toThrow(/the classifier 'fc' is followed by BatchNormalization 'bn'; only Softmax, Activation, Dropout may follow the head/);
    normalized.dispose();
    features.dispose();
    top.dispose();
  });
});

describe('freezeAllButLast', () => {
  it('leaves the last n layers trainable (weight-free layers count) and returns the trainable parameters', () => {
    const model = applications.resnet18({ inputShape: [32, 32, 3], classes: 5, engine });
    // The last 2 layers: avgpool (no weights) and fc.
    expect(freezeAllButLast(model, 2)).toBe(512 * 5 + 5);
    expect(model.layers.filter((l) => l.trainable).map((l) => l.name)).toEqual(['avgpool', 'fc']);
    const n = freezeAllButLast(model, model.layers.length);
    expect(n).toBe(model.countParams().trainable);
    expect(model.layers.every((l) => l.trainable)).toBe(true);
    expect(() => freezeAllButLast(model, 0)).toThrow(/n must be a positive integer/);
  });
});
