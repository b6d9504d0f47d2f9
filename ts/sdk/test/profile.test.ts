/**
 * `Model.profile` / `formatProfile` (ts/sdk/src/model/profile.ts over
 * crates/kernels/src/exec/profile.rs): per-layer times of the fused inference
 * pass and of training steps, which must leave the model as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchNormalization, Conv2D, ConfigError, Dense, Engine, Flatten, formatProfile, ReLU, Sequential } from '@lite-cnn/sdk';
import { mulberry32 } from './seeded-random.js';

const SHAPE: [number, number, number] = [16, 16, 3];

function net(engine: Engine): Sequential {
  return new Sequential(
    [
      new Conv2D({ filters: 8, kernelSize: 3, inputShape: SHAPE }),
      new BatchNormalization(),
      new ReLU(),
      new Flatten(),
      new Dense({ units: 4, activation: 'softmax' }),
    ],
    { engine, seed: 7 },
  );
}

describe('Model.profile', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await engine.shutdown();
  });

  it('times the fused inference pass per layer; folded layers and views have no step of their own', async () => {
    const m = net(engine);
    const p = await m.profile({ batchSize: 2, runs: 3, warmup: 1 });
    expect(p).toMatchObject({ mode: 'inference', batchSize: 2, runs: 3, threads: 2, artifact: engine.artifact });
    expect(p.layers.map((l) => [l.name, l.stepsRun])).toEqual([
      ['conv2d', 1],
      ['batch_normalization', 0], // folded into the convolution
      ['re_lu', 0], // the convolution's epilogue
      ['flatten', 0], // a view
      ['dense', 2], // the matrix product and its softmax
    ]);
    expect(p.layers[0]!.outputShape).toEqual([14, 14, 8]);
    expect(p.layers[0]!.forwardMs).toBeGreaterThan(0);
    expect(p.layers.every((l) => l.backwardMs === 0)).toBe(true);
    expect(p.stepsMs).toBeCloseTo(p.layers.reduce((s, l) => s + l.forwardMs, 0), 9);
    expect(p.stepsMs).toBeLessThanOrEqual(p.passMs);
    expect(p.layers.reduce((s, l) => s + l.share, 0)).toBeCloseTo(1, 9);
    const text = formatProfile(p);
    expect(text).toMatch(/^Profile: inference, batch 2, 3 timed pass\(es\), 2 thread\(s\)/);
    expect(text).toMatch(/batch_normalization \(BatchNormalization\) +\[14, 14, 8\] +no step of its own/);
    expect(text).toMatch(/conv2d \(Conv2D\) +\[14, 14, 8\] +\d+\.\d{3} +\d+\.\d%/);
    // Profiling stops with the call: later passes record nothing.
    expect(() => m.executor.stepTimes()).toThrow(/profiling is off/);
  });

  it('times training steps forward and backward and leaves weights, statistics and optimizer state unchanged', async () => {
    const m = net(engine);
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const next = mulberry32(3);
    const n = 8;
    const x = Float32Array.from({ length: n * 16 * 16 * 3 }, () => next());
    const y = Uint32Array.from({ length: n }, (_, i) => i % 4);
    await m.fit({ data: x, shape: [n, 16, 16, 3] }, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const weights = m.getWeights();
    const slots = m.optimizerState();
    const p = await m.profile({ training: true, batchSize: 4, runs: 2, warmup: 1, x: { data: x.subarray(0, 4 * 16 * 16 * 3), shape: [4, 16, 16, 3] } });
    expect(p.mode).toBe('training');
    const row = (name: string) => p.layers.find((l) => l.name === name)!;
    expect(row('conv2d').backwardMs).toBeGreaterThan(0);
    expect(row('batch_normalization').stepsRun).toBe(1); // training runs BatchNorm on batch statistics
    expect(row('dense').backwardMs).toBeGreaterThan(0);
    for (const [name, w] of m.getWeights()) expect(w, name).toEqual(weights.get(name));
    const after = m.optimizerState();
    expect(after.step).toBe(slots.step);
    expect(after.slot1).toEqual(slots.slot1);
    expect(after.slot2).toEqual(slots.slot2);
    expect(formatProfile(p)).toMatch(/Forward ms +Backward ms +Share/);
  });

  it('rejects bad arguments with typed errors', async () => {
    const m = net(engine);
    await expect(m.profile({ runs: 0 })).rejects.toThrow(ConfigError);
    await expect(m.profile({ batchSize: 1.5 })).rejects.toThrow(/batchSize must be an integer >= 1, got 1.5/);
    await expect(m.profile({ training: true })).rejects.toThrow(/compile\(\) it first/);
    await expect(m.profile({ batchSize: 2, x: { data: new Float32Array(16 * 16 * 3), shape: [1, 16, 16, 3] } })).rejects.toThrow(/x holds 1 samples, batchSize is 2/);
  });
});
