/**
 * Stain normalization through the engine: fitting a target on synthetic H&E
 * tiles (Macenko recovers the stains that made them; Reinhard's target is the
 * median of the per-image statistics), normalizing towards it, background
 * tiles left untouched and counted, 1 vs 2 threads bit-identical, typed
 * errors, and the target round-tripping through a model file. The kernels'
 * own tests (crates/kernels/src/image/stain_tests.rs) check the maths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, Engine, ImageDataset, ModelFormatError, Sequential, ShapeError, WasmImageTransformer, fitDatasetStains, fitStainNormalization, normalizeStains, stainNormalizedDataset, type StainNormalizationConfig } from '@lite-cnn/sdk';
import { mnistNet } from './nets.js';
import { concat, E_VEC, H_VEC, tile, unit } from './he-tiles.js';

describe('stain normalization', () => {
  let e1: Engine;
  let e2: Engine;
  beforeAll(async () => {
    e2 = await Engine.create({ threads: 2 });
    e1 = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await e2.shutdown();
    await e1.shutdown();
  });
  const side = 32;
  const shape = [side, side, 3] as const;

  it('Macenko: the fitted target holds the stains that made the tiles; normalizing maps other stains onto them', async () => {
    const train = concat([tile(side, 1), tile(side, 2, undefined, 1.2), tile(side, 3, undefined, 0.8)]);
    const target = await fitStainNormalization(train, shape, 'macenko', { engine: e2 });
    if (target.kind !== 'macenko') throw new Error('kind');
    target.stains[0].forEach((v, i) => expect(v).toBeCloseTo(unit(H_VEC)[i]!, 1));
    target.stains[1].forEach((v, i) => expect(v).toBeCloseTo(unit(E_VEC)[i]!, 1));
    // The tiles were made with strengths 0.8, 1, 1.2: the median maximum concentration is the middle tile's.
    const own = await fitStainNormalization(tile(side, 1), shape, 'macenko', { engine: e2 });
    if (own.kind !== 'macenko') throw new Error('kind');
    expect(target.maxConcentrations[0]).toBeCloseTo(own.maxConcentrations[0], 1);
    // A tile stained otherwise, with the concentrations of tile 1: normalized, it comes close to tile 1.
    const other = tile(side, 1, [unit([0.65, 0.7, 0.35]), unit([0.25, 0.75, 0.6])]);
    const { images, untouched } = await normalizeStains(concat([other, new Uint8Array(side * side * 3).fill(250)]), shape, own, { engine: e2 });
    expect(untouched).toBe(1); // the background tile
    const ref = tile(side, 1);
    const before = other.reduce((a, v, i) => a + Math.abs(v - ref[i]!), 0) / ref.length;
    const after = images.subarray(0, ref.length).reduce((a, v, i) => a + Math.abs(v - ref[i]!), 0) / ref.length;
    expect(after).toBeLessThan(3);
    expect(after).toBeLessThan(before / 3);
    expect(Array.from(images.subarray(ref.length)).every((v) => v === 250)).toBe(true);
  });

  it('Reinhard: normalized tiles have the target statistics; 1 and 2 threads agree bit for bit', async () => {
    const train = concat([tile(side, 4), tile(side, 5, undefined, 1.3), tile(side, 6, undefined, 0.7)]);
    const target = await fitStainNormalization(train, shape, 'reinhard', { engine: e2 });
    if (target.kind !== 'reinhard') throw new Error('kind');
    expect(target.mean[0]).toBeGreaterThan(30);
    expect(target.mean[0]).toBeLessThan(100);
    const test = concat([tile(side, 7, undefined, 0.6), tile(side, 8, [unit([0.7, 0.6, 0.3]), unit([0.1, 0.9, 0.4])])]);
    const a = await normalizeStains(test, shape, target, { engine: e2 });
    const b = await normalizeStains(test, shape, target, { engine: e1 });
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(a.untouched).toBe(0);
    const per = side * side * 3;
    for (let i = 0; i < 2; i++) {
      const stats = await fitStainNormalization(a.images.subarray(i * per, (i + 1) * per), shape, 'reinhard', { engine: e1 });
      if (stats.kind !== 'reinhard') throw new Error('kind');
      stats.mean.forEach((v, k) => expect(Math.abs(v - target.mean[k]!)).toBeLessThan(0.5));
      stats.std.forEach((v, k) => expect(Math.abs(v - target.std[k]!)).toBeLessThan(0.5));
    }
    expect(Buffer.from(test).equals(Buffer.from(a.images))).toBe(false);
  });

  it('datasets: fitted on a split, applied to a copy with the same samples, labels and transformer', async () => {
    const images = concat([tile(side, 1), tile(side, 2), tile(side, 3)]);
    const transformer = new WasmImageTransformer(e2, { preprocessing: { kind: 'minmax' }, seed: 1 });
    const ds = new ImageDataset({ images, shape: [...shape], labels: [0, 1, 0], classNames: ['benign', 'malignant'], transformer, engine: e2 });
    const target = await fitDatasetStains(ds.subset([0, 1]), 'macenko', { engine: e2 });
    const { dataset, untouched } = await stainNormalizedDataset(ds, target, { engine: e2 });
    expect(untouched).toBe(0);
    expect(Array.from(dataset.labels())).toEqual([0, 1, 0]);
    expect(dataset.transformer).toBe(transformer);
    expect(Buffer.from(ds.image(2)).equals(Buffer.from(images.subarray(2 * side * side * 3)))).toBe(true); // the original is not modified
    expect((await stainNormalizedDataset(ds, null)).dataset).toBe(ds);
  });

  it('rejects bad input with typed errors naming what was expected', async () => {
    await expect(fitStainNormalization(new Uint8Array(side * side * 3).fill(255), shape, 'macenko', { engine: e2 })).rejects.toThrow(DataError);
    await expect(fitStainNormalization(new Uint8Array(16), [4, 4, 1], 'reinhard', { engine: e2 })).rejects.toThrow(ShapeError);
    await expect(fitStainNormalization(new Uint8Array(10), shape, 'reinhard', { engine: e2 })).rejects.toThrow(/expected a Uint8Array of n × 32 × 32 × 3 values, got 10/);
    await expect(fitStainNormalization(new Uint8Array(side * side * 3), shape, 'vahadane' as 'macenko', { engine: e2 })).rejects.toThrow(ConfigError);
    const bad = { kind: 'macenko', stains: [[1, 1, 1], [0, 1, 0]], maxConcentrations: [1, 1] } as unknown as StainNormalizationConfig;
    await expect(normalizeStains(tile(side, 1), shape, bad, { engine: e2 })).rejects.toThrow(/stains must be 2 unit vectors/);
  });

  it('a model file stores the target and rejects an invalid one', async () => {
    const model = mnistNet({ seed: 3 });
    await model.build({ batchSize: 1 });
    const stainNormalization: StainNormalizationConfig = { kind: 'reinhard', mean: [Math.fround(60.5), 10, -5], std: [12, 6, 4] };
    model.metadata = { classNames: null, preprocessing: { kind: 'minmax' }, threshold: null, stainNormalization };
    const path = join(mkdtempSync(join(tmpdir(), 'lite-cnn-stain-')), 'm.safetensors');
    await model.save(path);
    expect((await Sequential.load(path)).metadata.stainNormalization).toEqual(stainNormalization);
    model.metadata = { ...model.metadata, stainNormalization: { kind: 'reinhard', mean: [1, 2], std: [1, 1, 1] } as unknown as StainNormalizationConfig };
    await expect(Sequential.fromBytes(model.toBytes())).rejects.toThrow(ModelFormatError);
  });
});
