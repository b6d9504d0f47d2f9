import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  ConfigError,
  Conv2D,
  DataError,
  Dense,
  Dropout,
  Engine,
  Flatten,
  l2,
  LeakyReLU,
  GlobalAveragePooling2D,
  AveragePooling2D,
  Sequential,
  ShapeError,
  SGD,
  studyL2,
} from '@lite-cnn/sdk';
import { breakhisNet, mnistNet } from './nets.js';

function randomImages(n: number, shape: [number, number, number], seed: number): Float32Array {
  const x = new Float32Array(n * shape[0] * shape[1] * shape[2]);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  return x;
}

describe('Sequential: building and describing', () => {
  it('counts exactly 319,106 trainable parameters for the BreakHis net and 3,554 for the MNIST net', () => {
    const bh = breakhisNet({ l2: l2(0.1) });
    expect(bh.countParams()).toEqual({ trainable: 319_106, nonTrainable: 224, total: 319_330 });
    const text = bh.summary(null);
    expect(text).toMatch(/Trainable params: 319,106/);
    expect(text).toMatch(/conv2d \(Conv2D\)\s+\[None, 56, 56, 16\]\s+448/);
    expect(text).toMatch(/max_pooling2d \(MaxPooling2D\)\s+\[None, 13, 13, 32\]\s+0/);
    expect(text).toMatch(/flatten \(Flatten\)\s+\[None, 2304\]/);
    expect(text).toMatch(/Kernel regularizer: l2\(0.1\) \[Keras/);
    expect(studyL2(0.1).form).toBe('study');
    const m = mnistNet();
    expect(m.countParams().trainable).toBe(3_554);
    expect(m.summary(null)).toMatch(/dense \(Dense\)\s+\[None, 10\]\s+2,890/);
  });

  it('names layers Keras-style and rejects duplicate names', () => {
    const m = mnistNet();
    expect(m.layers.map((l) => l.name)).toEqual(['conv2d', 'conv2d_1', 'flatten', 'dense']);
    expect(() => new Sequential([new Flatten({ name: 'x', inputShape: [4] }), new Dense({ units: 2, name: 'x' })])).toThrow(/layer name 'x' is used twice/);
  });

  it('agrees with the executor on every tensor and its placement', async () => {
    const m = breakhisNet({ size: 64 });
    await m.build({ batchSize: 2 });
    const w = m.getWeights();
    expect([...w.keys()].slice(0, 6)).toEqual(['layers.0.kernel', 'layers.0.bias', 'layers.1.gamma', 'layers.1.beta', 'layers.1.moving_mean', 'layers.1.moving_variance']);
    expect(w.get('layers.0.kernel')!.length).toBe(3 * 3 * 3 * 16);
    expect(w.get('layers.1.moving_variance')!.every((v) => v === 1)).toBe(true);
    expect(w.get('layers.0.bias')!.every((v) => v === 0)).toBe(true);
    // heNormal (a ReLU follows through BN): truncated normal with std sqrt(2/27).
    const k = w.get('layers.0.kernel')!;
    const std = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    expect(std).toBeGreaterThan(0.15);
    expect(std).toBeLessThan(0.4);
  });

  it('initializes identically for the same seed and differently for another', async () => {
    const a = mnistNet({ seed: 5 });
    const b = mnistNet({ seed: 5 });
    const c = mnistNet({ seed: 6 });
    await Promise.all([a.build(), b.build(), c.build()]);
    expect(a.getWeights().get('layers.0.kernel')).toEqual(b.getWeights().get('layers.0.kernel'));
    expect(a.getWeights().get('layers.0.kernel')).not.toEqual(c.getWeights().get('layers.0.kernel'));
  });

  it('gets and sets weights by name, checking names and sizes', async () => {
    const m = mnistNet();
    await m.build();
    const w = m.getWeights();
    const k = w.get('layers.3.kernel')!.fill(0.5);
    m.setWeights({ 'layers.3.kernel': k });
    expect(m.getWeights().get('layers.3.kernel')!.every((v) => v === 0.5)).toBe(true);
    expect(() => m.setWeights({ 'layers.9.kernel': k })).toThrow(/no tensor 'layers.9.kernel'/);
    expect(() => m.setWeights({ 'layers.3.kernel': new Float32Array(3) })).toThrow(/shape \[288, 10\] \(2880 values\), got 3 values/);
  });
});

describe('Sequential: errors name the layer, the expected and the received value', () => {
  it('rejects bad layer configs', () => {
    expect(() => new Conv2D({ filters: 0, kernelSize: 3 })).toThrow(ConfigError);
    expect(() => new Conv2D({ filters: -2, kernelSize: 3 })).toThrow(/filters must be a positive integer, got -2/);
    expect(() => new Conv2D({ filters: 2, kernelSize: 0 })).toThrow(/kernelSize must be positive integers, got 0/);
    // A missing or malformed size is a ConfigError naming it, not a TypeError from inside the check.
    expect(() => new Conv2D({ filters: 2 } as ConstructorParameters<typeof Conv2D>[0])).toThrow(ConfigError);
    expect(() => new Conv2D({ filters: 2, kernelSize: [3] as unknown as [number, number] })).toThrow(/Conv2D: kernelSize must be positive integers, got \[3\]/);
    expect(() => new Dense({ units: 1.5 })).toThrow(/units must be a positive integer, got 1.5/);
    expect(() => new Dropout({ rate: 1 })).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => new Conv2D({ filters: 2, kernelSize: 3, padding: 'full' as 'same' })).toThrow(/padding must be 'valid' or 'same', got 'full'/);
  });

  it('rejects a kernel larger than its input and a Dense on an image', () => {
    const m = new Sequential([new Conv2D({ filters: 4, kernelSize: 5, inputShape: [4, 4, 1] })]);
    expect(() => m.summary(null)).toThrow(ShapeError);
    expect(() => m.summary(null)).toThrow(/Conv2D 'conv2d' \(layer 0\): expected input \[batch, h, w, c\] with h >= 5 and w >= 5 for a 5x5 'valid' kernel, got \[batch, 4, 4, 1\]/);
    const d = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1] }), new Dense({ units: 2 })]);
    expect(() => d.summary(null)).toThrow(/Dense 'dense' \(layer 1\): expected input \[batch, features\] \(add a Flatten layer before Dense\), got \[batch, 6, 6, 4\]/);
    expect(() => new Sequential([new Dense({ units: 2 })]).summary(null)).toThrow(/the first layer needs an inputShape/);
  });

  it('rejects fit before compile, wrong input shapes, labels out of range and non-finite inputs', async () => {
    const m = mnistNet();
    const x = { data: randomImages(4, [28, 28, 1], 1), shape: [4, 28, 28, 1] };
    await expect(m.fit(x, [0, 1, 2, 3])).rejects.toThrow(/compile\(\) the model before fit\(\)/);
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await expect(m.fit({ data: randomImages(4, [28, 28, 3], 1), shape: [4, 28, 28, 3] }, [0, 1, 2, 3])).rejects.toThrow(
      /fit: expected x of shape \[n, 28, 28, 1\], got \[4, 28, 28, 3\]/,
    );
    await expect(m.predict({ data: new Float32Array(784), shape: [28, 28] })).rejects.toThrow(ShapeError);
    await expect(m.fit(x, [0, 1, 10, 3])).rejects.toThrow(/label 10 at sample 2 is out of range; expected an integer in \[0, 9\]/);
    await expect(m.fit(x, [0, 1, 2])).rejects.toThrow(/expected 4 labels \(one per sample\), got 3/);
    const bad = randomImages(4, [28, 28, 1], 2);
    bad[800] = Number.NaN;
    await expect(m.fit({ data: bad, shape: [4, 28, 28, 1] }, [0, 1, 2, 3])).rejects.toThrow(DataError);
    await expect(m.fit({ data: bad, shape: [4, 28, 28, 1] }, [0, 1, 2, 3])).rejects.toThrow(/x contains NaN at sample 1/);
    bad[800] = Number.POSITIVE_INFINITY;
    await expect(m.predict({ data: bad, shape: [4, 28, 28, 1] })).rejects.toThrow(/x contains Infinity at sample 1/);
    // predict checks each batch in the engine: the sample and index are global, not per batch.
    bad[800] = 0.5;
    bad[3 * 784 + 5] = Number.NEGATIVE_INFINITY;
    await expect(m.predict({ data: bad, shape: [4, 28, 28, 1] }, { batchSize: 2 })).rejects.toThrow(
      /predict: x contains -Infinity at sample 3 \(index 2357\); inputs must be finite/,
    );
    bad[3 * 784 + 5] = 0.5;
    expect((await m.predict({ data: bad, shape: [4, 28, 28, 1] }, { batchSize: 2 })).length).toBe(40);
    expect(() => m.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' })).toThrow(/binaryCrossentropy needs a model with 1 output unit; this one outputs 10/);
    expect(() => m.compile({ optimizer: 'rmsprop' as 'adam', loss: 'sparseCategoricalCrossentropy' })).toThrow(/unknown optimizer 'rmsprop'/);
  });

  it('stops with a clear error when the loss becomes NaN, keeping the weights', async () => {
    // A linear model with an absurd learning rate: the logits overflow to ±Infinity within a few steps.
    const m = new Sequential([new Flatten({ inputShape: [28, 28, 1] }), new Dense({ units: 10, activation: 'softmax' })]);
    m.compile({ optimizer: new SGD({ learningRate: 1e38 }), loss: 'sparseCategoricalCrossentropy' });
    const x = { data: randomImages(64, [28, 28, 1], 3), shape: [64, 28, 28, 1] };
    const y = Array.from({ length: 64 }, (_, i) => i % 10);
    await expect(m.fit(x, y, { epochs: 3, batchSize: 8 })).rejects.toThrow(/fit: the loss became (NaN|Infinity) at epoch 1, batch \d+/);
    for (const v of m.getWeights().values()) expect(v.every(Number.isFinite)).toBe(true);
  });
});

describe('Sequential: training', () => {
  let e1: Engine;
  let e2: Engine;
  beforeAll(async () => {
    e1 = await Engine.create({ threads: 1 });
    e2 = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e1.shutdown();
    await e2.shutdown();
  });

  it('trains bit-identically with 1 and 2 threads for the same seed and data (BN, dropout, L2, AdamW)', async () => {
    const build = (engine: Engine) => {
      const m = new Sequential(
        [
          new Conv2D({ filters: 6, kernelSize: 3, strides: 2, inputShape: [20, 20, 3], kernelRegularizer: l2(0.01) }),
          new LeakyReLU({ alpha: 0.1 }),
          new AveragePooling2D({ poolSize: 2, padding: 'same' }),
          new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelRegularizer: l2(0.01) }),
          new GlobalAveragePooling2D(),
          new Dropout({ rate: 0.3 }),
          new Dense({ units: 3, activation: 'softmax' }),
        ],
        { seed: 11, engine },
      );
      m.compile({ optimizer: 'adamw', loss: { name: 'sparseCategoricalCrossentropy', labelSmoothing: 0.1 } });
      return m;
    };
    const x = { data: randomImages(50, [20, 20, 3], 4), shape: [50, 20, 20, 3] };
    const y = Array.from({ length: 50 }, (_, i) => i % 3);
    const [a, b] = [build(e1), build(e2)];
    const ha = await a.fit(x, y, { epochs: 3, batchSize: 8, classWeight: 'balanced' });
    const hb = await b.fit(x, y, { epochs: 3, batchSize: 8, classWeight: 'balanced' });
    expect(ha.history.loss).toEqual(hb.history.loss);
    for (const [name, w] of a.getWeights()) expect(Buffer.from(w.buffer).equals(Buffer.from(b.getWeights().get(name)!.buffer)), name).toBe(true);
  });

  it('returns a Keras History and calls callbacks in order', async () => {
    const m = mnistNet({ engine: e2 });
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    const x = { data: randomImages(100, [28, 28, 1], 5), shape: [100, 28, 28, 1] };
    const y = Array.from({ length: 100 }, (_, i) => i % 10);
    const events: string[] = [];
    const cb = new (class extends (await import('@lite-cnn/sdk')).Callback {
      override onTrainBegin() {
        events.push('trainBegin');
      }
      override onEpochEnd(epoch: number) {
        events.push(`epochEnd ${epoch}`);
      }
      override onEvaluation(step: number) {
        events.push(`eval ${step}`);
      }
      override onTrainEnd() {
        events.push('trainEnd');
      }
    })();
    const h = await m.fit(x, y, { epochs: 2, batchSize: 16, validationSplit: 0.2, evaluateEvery: 5, callbacks: [cb] });
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']);
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history.lr).toEqual([0.01, 0.01]);
    expect(m.step).toBe(10); // 80 training samples / 16 per batch × 2 epochs
    expect(events).toEqual(['trainBegin', 'eval 5', 'epochEnd 0', 'eval 10', 'epochEnd 1', 'trainEnd']);
    expect(h.steps.map((s) => s.step)).toEqual([5, 10]);
  });

  it("reproduces the study's MNIST experiment: >= 97% validation accuracy after one epoch (mean of 3 seeds)", async () => {
    const { loadMnist } = await import('@lite-cnn/sdk');
    const mnist = await loadMnist();
    const n = 60000;
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = mnist.train.images[i]! / 255;
    const accs: number[] = [];
    for (const seed of [0, 1, 2]) {
      const m = mnistNet({ seed, engine: e2 });
      m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      // 55,000 for training, the last 5,000 for validation; batch 32; one epoch.
      const h = await m.fit({ data: x, shape: [n, 28, 28, 1] }, mnist.train.labels, { epochs: 1, batchSize: 32, validationSplit: 5000 / 60000 });
      accs.push(h.history.val_accuracy![0]!);
    }
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    console.log(`MNIST study recipe (Adam 0.01, batch 32, 1 epoch): validation accuracy ${accs.map((a) => (a * 100).toFixed(2)).join(', ')}% (mean ${(mean * 100).toFixed(2)}%)`);
    expect(mean).toBeGreaterThanOrEqual(0.97);
    expect(Math.min(...accs)).toBeGreaterThanOrEqual(0.96);
  }, 120_000);

  it('runs the study SGD variant too', async () => {
    const { loadMnist } = await import('@lite-cnn/sdk');
    const mnist = await loadMnist();
    const n = 12000;
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = mnist.train.images[i]! / 255;
    const m = mnistNet({ engine: e2 });
    m.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    const h = await m.fit({ data: x, shape: [n, 28, 28, 1] }, mnist.train.labels.subarray(0, n), { epochs: 1, validationSplit: 0.1 });
    expect(h.history.loss![0]).toBeLessThan(2.2);
    expect(h.history.val_accuracy![0]).toBeGreaterThan(0.5);
  });
});

describe('Sequential.dispose', () => {
  it('releases the model now; any later use is a clear error', async () => {
    const m = mnistNet({ seed: 1 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await m.build();
    expect(m.built).toBe(true);
    m.dispose();
    expect(m.built).toBe(false);
    expect(() => m.getWeights()).toThrow(/Sequential 'mnist': used after dispose\(\)/);
    await expect(m.predict({ data: new Float32Array(784), shape: [1, 28, 28, 1] })).rejects.toThrow(ConfigError);
    m.dispose(); // a second dispose is harmless
  });
});
