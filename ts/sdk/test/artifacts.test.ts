/**
 * The exact and relaxed-SIMD artifacts: which one 'auto' picks, and what the
 * relaxed one computes. Relaxed SIMD runs each multiply-add as one fused
 * operation where the CPU has FMA, so its results differ from the exact
 * artifact's in the last bits (stated tolerances below) but stay
 * bit-identical for any thread count on one machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Engine, type Model, type Sequential } from '@lite-cnn/sdk';
import { graphNet } from './graph-net.js';
import { breakhisNet, mnistNet } from './nets.js';
import { mulberry32 } from './seeded-random.js';

/** Relaxed vs exact forward: `|relaxed - exact| <= FORWARD_RTOL · max(1, max|exact|)`. */
const FORWARD_RTOL = 1e-5;
/** Relaxed vs exact weights after a short training run: `|relaxed - exact| <= TRAIN_RTOL · max(1, max|exact|)` per tensor. */
const TRAIN_RTOL = 1e-4;

type Net = { name: string; make: (engine: Engine) => Model | Sequential; shape: [number, number, number] };
const NETS: Net[] = [
  { name: 'MNIST net', make: (engine) => mnistNet({ seed: 1, engine }), shape: [28, 28, 1] },
  { name: 'BreakHis net (64x64)', make: (engine) => breakhisNet({ seed: 2, engine, size: 64 }), shape: [64, 64, 3] },
  { name: 'graph net (logits)', make: (engine) => graphNet({ seed: 3, engine, activation: 'linear' }), shape: [12, 12, 3] },
];

function images(n: number, shape: [number, number, number], seed: number) {
  const next = mulberry32(seed);
  return { data: Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => next()), shape: [n, ...shape] as [number, number, number, number] };
}

function maxRelDiff(got: Float32Array, want: Float32Array): number {
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  return worst / scale;
}

const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('artifact choice', () => {
  it("'auto' picks the relaxed threaded artifact in Node; 'exact' the bit-reproducible one", async () => {
    const auto = await Engine.create({ threads: 1 });
    const exact = await Engine.create({ threads: 1, artifact: 'exact' });
    try {
      expect([auto.artifact, auto.relaxedSimd, auto.simd]).toEqual(['threaded-relaxed', true, true]);
      expect([exact.artifact, exact.relaxedSimd]).toEqual(['threaded', false]);
    } finally {
      await auto.shutdown();
      await exact.shutdown();
    }
  });

  it('names the accepted values for an unknown artifact', async () => {
    await expect(Engine.create({ artifact: 'fast' as never })).rejects.toThrow(ConfigError);
    await expect(Engine.create({ artifact: 'fast' as never })).rejects.toThrow(/artifact must be one of 'auto', 'exact', 'relaxed', 'threaded', 'single', 'threaded-relaxed', 'single-relaxed', got 'fast'/);
  });
});

describe('relaxed vs exact arithmetic', () => {
  let exact: Engine;
  let relaxed1: Engine;
  let relaxed2: Engine;
  beforeAll(async () => {
    exact = await Engine.create({ threads: 2, artifact: 'exact' });
    relaxed1 = await Engine.create({ threads: 1, artifact: 'relaxed' });
    relaxed2 = await Engine.create({ threads: 2, artifact: 'relaxed' });
  });
  afterAll(async () => {
    for (const e of [exact, relaxed1, relaxed2]) await e.shutdown();
  });

  for (const net of NETS) {
    it(`${net.name}: forward within ${FORWARD_RTOL} of exact, and bit-identical on 1 and 2 threads`, async () => {
      const x = images(5, net.shape, 7);
      const [e, r1, r2] = [exact, relaxed1, relaxed2].map((engine) => net.make(engine));
      const weights = (await e!.build()).getWeights();
      for (const m of [r1!, r2!]) (await m.build()).setWeights(weights);
      const [ye, y1, y2] = await Promise.all([e!, r1!, r2!].map((m) => m.predict(x)));
      expect(sameBits(y1!, y2!)).toBe(true);
      expect(maxRelDiff(y1!, ye!)).toBeLessThanOrEqual(FORWARD_RTOL);
    });
  }

  // SGD: its update is linear in the gradient, so rounding differences stay
  // that small (Adam divides by the gradient's RMS and turns the rounding noise
  // of near-zero gradients, like a bias before a BatchNorm, into full steps).
  it('BreakHis net (64x64): 4 SGD steps land within the stated tolerance of exact, bit-identical on 1 and 2 threads', async () => {
    const x = images(16, [64, 64, 3], 11);
    const y = Array.from({ length: 16 }, (_, i) => i % 2);
    const trained = await Promise.all(
      [exact, relaxed1, relaxed2].map(async (engine) => {
        const m = breakhisNet({ seed: 5, engine, size: 64 });
        m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
        await m.fit(x, y, { epochs: 1, batchSize: 4, seed: 9, verbose: 0 });
        return m.getWeights();
      }),
    );
    const [we, w1, w2] = trained as [Map<string, Float32Array>, Map<string, Float32Array>, Map<string, Float32Array>];
    let worst = 0;
    for (const [name, want] of we) {
      expect(sameBits(w1.get(name)!, w2.get(name)!), `${name}: relaxed 1 vs 2 threads`).toBe(true);
      expect(maxRelDiff(w1.get(name)!, want), name).toBeLessThanOrEqual(TRAIN_RTOL);
      worst = Math.max(worst, maxRelDiff(w1.get(name)!, want));
    }
    // The relaxed artifact really computed something else (fused multiply-adds).
    expect(worst).toBeGreaterThan(0);
  });
});
