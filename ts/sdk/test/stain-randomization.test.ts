/**
 * Stain randomization (RandStainNA) through the engine: the fitted
 * distribution is the mean and spread of the per-image Reinhard statistics;
 * the transformer recolours each image to a target drawn from it (spread 0:
 * exactly the averages), keyed by (seed, epoch, id), identical on 1 and 2
 * threads, applied to about `probability` of the images; typed errors for bad
 * settings. The kernel's own tests (crates/kernels/src/image/randstain_tests.rs)
 * check the colour maths and the draws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, Engine, ImageDataset, WasmImageTransformer, fitDatasetStainDistribution, fitStainDistribution, fitStainNormalization, type StainDistribution } from '@lite-cnn/sdk';
import { concat, tile, unit } from './he-tiles.js';

const side = 32;
const shape = [side, side, 3] as const;
const per = side * side * 3;

/** The Reinhard statistics [mean L, a, b, std L, a, b] of one image. */
async function labStats(img: Uint8Array, engine: Engine): Promise<number[]> {
  const s = await fitStainNormalization(img, shape, 'reinhard', { engine });
  if (s.kind !== 'reinhard') throw new Error('kind');
  return [...s.mean, ...s.std];
}

/** Transformer output (minmax) back to bytes: exact, because stain randomization alone writes whole 8-bit values. */
const toBytes = (x: Float32Array) => Uint8Array.from(x, (v) => Math.round(v * 255));

describe('stain randomization', () => {
  let e1: Engine;
  let e2: Engine;
  let train: Uint8Array;
  let dist: StainDistribution;
  beforeAll(async () => {
    e2 = await Engine.create({ threads: 2 });
    e1 = await Engine.create({ threads: 1 });
    // Five stainings: strengths 0.6-1.4 and one with other stain vectors.
    train = concat([tile(side, 1, undefined, 0.6), tile(side, 2, undefined, 0.8), tile(side, 3), tile(side, 4, undefined, 1.4), tile(side, 5, [unit([0.7, 0.6, 0.3]), unit([0.1, 0.9, 0.4])])]);
    dist = await fitStainDistribution(train, shape, { engine: e2 });
  });
  afterAll(async () => {
    await e2.shutdown();
    await e1.shutdown();
  });

  it('fits the mean and population spread of the per-image L*a*b* statistics', async () => {
    const rows = await Promise.all([0, 1, 2, 3, 4].map((i) => labStats(train.subarray(i * per, (i + 1) * per), e1)));
    const column = (k: number) => rows.map((r) => r[k]!);
    const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
    const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
    expect(dist.images).toBe(5);
    for (let ch = 0; ch < 3; ch++) {
      expect(dist.means.mean[ch]).toBeCloseTo(mean(column(ch)), 3);
      expect(dist.means.std[ch]).toBeCloseTo(std(column(ch)), 3);
      expect(dist.stds.mean[ch]).toBeCloseTo(mean(column(3 + ch)), 3);
      expect(dist.stds.std[ch]).toBeCloseTo(std(column(3 + ch)), 3);
    }
    // The stainings differ, so there is a spread to draw from.
    expect(dist.means.std[0]).toBeGreaterThan(3);
    const ds = new ImageDataset({ images: train, shape: [...shape], labels: [0, 1, 0, 1, 0], classNames: ['benign', 'malignant'], transformer: new WasmImageTransformer(e2, { preprocessing: { kind: 'minmax' }, seed: 0 }), engine: e2 });
    expect(await fitDatasetStainDistribution(ds, { engine: e2 })).toEqual(dist);
  });

  it('spread 0 recolours every image to the average statistics', async () => {
    const t = new WasmImageTransformer(e2, { preprocessing: { kind: 'minmax' }, augmentation: { stainRandomization: { distribution: dist, spread: 0 } }, seed: 3 });
    const out = toBytes(t.transform({ images: train, shape, augment: true }));
    for (let i = 0; i < 5; i++) {
      const s = await labStats(out.subarray(i * per, (i + 1) * per), e1);
      for (let ch = 0; ch < 3; ch++) {
        expect(Math.abs(s[ch]! - dist.means.mean[ch]!), `image ${i} mean ${ch}`).toBeLessThan(0.6);
        expect(Math.abs(s[3 + ch]! - dist.stds.mean[ch]!), `image ${i} std ${ch}`).toBeLessThan(0.6);
      }
    }
    // Without augment: preprocessing only.
    expect(toBytes(t.transform({ images: train, shape, augment: false }))).toEqual(train);
    t.free();
  });

  it('draws a target per (seed, epoch, id): repeatable, thread-independent, varied; probability picks about that share', async () => {
    const images = concat(Array.from({ length: 8 }, () => train.subarray(2 * per, 3 * per)));
    const ids = [0, 1, 2, 3, 4, 5, 6, 7];
    const make = (engine: Engine, probability = 1) => new WasmImageTransformer(engine, { preprocessing: { kind: 'minmax' }, augmentation: { stainRandomization: { distribution: dist, probability } }, seed: 9 });
    const [t1, t2] = [make(e1), make(e2)];
    const a = t2.transform({ images, shape, sampleIds: ids, epoch: 1, augment: true });
    expect(Buffer.from(a.buffer).equals(Buffer.from(t1.transform({ images, shape, sampleIds: ids, epoch: 1, augment: true }).buffer))).toBe(true);
    // The same id in another position gives the same image; another epoch another one.
    const swapped = t2.transform({ images, shape, sampleIds: [7, 1, 2, 3, 4, 5, 6, 0], epoch: 1, augment: true });
    expect(swapped.subarray(0, per)).toEqual(a.subarray(7 * per));
    expect(t2.transform({ images, shape, sampleIds: ids, epoch: 2, augment: true }).subarray(0, per)).not.toEqual(a.subarray(0, per));
    // One tile, eight stainings: its L* mean spreads like the fitted distribution's (loosely: 8 draws).
    const bytes = toBytes(a);
    const lMeans = await Promise.all(ids.map(async (i) => (await labStats(bytes.subarray(i * per, (i + 1) * per), e1))[0]!));
    const spread = Math.max(...lMeans) - Math.min(...lMeans);
    expect(spread).toBeGreaterThan(dist.means.std[0]);
    expect(spread).toBeLessThan(8 * dist.means.std[0]);
    // Probability 0.5 over 64 ids: some images untouched (exactly x/255), some recoloured.
    const many = concat(Array.from({ length: 8 }, () => images));
    const half = toBytes(make(e2, 0.5).transform({ images: many, shape, augment: true }));
    const untouched = Array.from({ length: 64 }, (_, i) => Buffer.from(half.subarray(i * per, (i + 1) * per)).equals(Buffer.from(many.subarray(i * per, (i + 1) * per)))).filter(Boolean).length;
    expect(untouched).toBeGreaterThan(16);
    expect(untouched).toBeLessThan(48);
    for (const t of [t1, t2]) t.free();
  });

  it('rejects bad settings with typed errors naming the field and the received value', async () => {
    const make = (stainRandomization: unknown) => () => new WasmImageTransformer(e2, { preprocessing: { kind: 'minmax' }, augmentation: { stainRandomization } as never, seed: 0 });
    expect(make({ distribution: dist, spread: -1 })).toThrow(/stainRandomization.spread must be a number in \[0, 10\], got -1/);
    expect(make({ distribution: dist, probability: 0 })).toThrow(/stainRandomization.probability must be a number in \(0, 1\], got 0/);
    expect(make({ distribution: { ...dist, stds: { mean: [1, 2], std: [0, 0, 0] } } })).toThrow(/stds.mean must be 3 finite numbers \(L\*, a\*, b\*\) >= 0, got \[1,2\]/);
    expect(make({ distribution: { ...dist, means: { mean: dist.means.mean, std: [0, -1, 0] } } })).toThrow(ConfigError);
    expect(make({ distribution: dist, spred: 1 })).toThrow(/unknown stainRandomization option 'spred'/);
    expect(make(undefined)).not.toThrow();
    await expect(fitStainDistribution(train.subarray(0, per), shape, { engine: e2 })).rejects.toThrow(DataError);
  });
});
