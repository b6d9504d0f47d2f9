/**
 * The engine's memory limit: all of wasm32's 4 GiB in Node by default (so a
 * network with ImageNet-sized weights fits), a smaller `maxMemoryMiB` on
 * request, and addresses past 2 GiB (negative as wasm's i32 results) read
 * unsigned everywhere: a model whose buffers all live above 2 GiB trains and
 * predicts exactly as it does low in memory.
 */
import { describe, expect, it } from 'vitest';
import { Adam, ConfigError, Dense, Engine, OutOfMemoryError, Sequential } from '@lite-cnn/sdk';
import { mnistNet } from './nets.js';

const GIB = 2 ** 30;

/** One training step and a prediction of the seeded MNIST net on fixed data. */
async function trainAndPredict(engine: Engine): Promise<{ loss: number; probs: Float32Array; weights: Float32Array[] }> {
  const model = mnistNet({ seed: 3, engine });
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
  const x = Float32Array.from({ length: 8 * 28 * 28 }, (_, i) => ((i * 7919) % 255) / 255);
  const y = Int32Array.from({ length: 8 }, (_, i) => i % 10);
  const history = await model.fit({ data: x, shape: [8, 28, 28, 1] }, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
  const probs = await model.predict({ data: x, shape: [8, 28, 28, 1] });
  const weights = [...model.getWeights().values()].map((w) => w.slice());
  model.dispose();
  return { loss: history.history['loss']![0]!, probs, weights };
}

describe('engine memory', () => {
  it('defaults to 4 GiB in Node; maxMemoryMiB sets it, and is checked', async () => {
    const engine = await Engine.create({ threads: 1 });
    expect(engine.maxMemoryBytes).toBe(4 * GIB);
    await engine.shutdown();
    const small = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    expect(small.maxMemoryBytes).toBe(64 * 2 ** 20);
    await small.shutdown();
    for (const bad of [0, 8, 4097, 1.5]) await expect(Engine.create({ threads: 1, maxMemoryMiB: bad })).rejects.toThrow(ConfigError);
    await expect(Engine.create({ threads: 1, maxMemoryMiB: 5000 })).rejects.toThrow(/maxMemoryMiB must be an integer from 16 to 4096 \(wasm32's 4 GiB\), got 5000/);
  });

  it('a model larger than maxMemoryMiB is an OutOfMemoryError naming the limit', async () => {
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    // 40 M weights: 160 MB.
    const big = new Sequential([new Dense({ units: 10_000, inputShape: [4000] })], { seed: 1, engine });
    const err = await big.build().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).limitBytes).toBe(64 * 2 ** 20);
    expect((err as Error).message).toMatch(/of at most 67108864 bytes; Engine\.create\(\{ maxMemoryMiB \}\) sets the maximum/);
    await engine.shutdown();
  });

  for (const threads of [1, 2]) {
    it(`buffers above 2 GiB (${threads} thread${threads > 1 ? 's' : ''}): training and prediction equal those low in memory`, async () => {
      const low = await Engine.create({ threads, artifact: 'exact' });
      const want = await trainAndPredict(low);
      await low.shutdown();
      const high = await Engine.create({ threads, artifact: 'exact' });
      // Never touched, so it costs address space, not RAM; two blocks, as
      // one allocation is at most 2 GiB - 1 (Rust's isize::MAX on wasm32).
      const fillers = [high.memory.alloc(GIB + 32 * 2 ** 20), high.memory.alloc(GIB + 32 * 2 ** 20)];
      expect(fillers[1]).toBeGreaterThan(fillers[0]!);
      const got = await trainAndPredict(high);
      expect(high.memoryBytes).toBeGreaterThan(2 * GIB);
      expect(got.loss).toBe(want.loss);
      expect(got.probs).toEqual(want.probs);
      expect(got.weights).toEqual(want.weights);
      await high.shutdown();
    }, 120_000);
  }
});
