/**
 * WasmImageTransformer end to end through the engine: preprocessing values,
 * flips, reproducibility keyed by (seed, epoch, sample id) across batch
 * positions and thread counts, validation, and a sanity check on a real
 * image. The kernel's own tests (crates/kernels/src/image/tests.rs) cover the
 * warp geometry against a reference.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, Engine, ShapeError, WasmImageTransformer, studyAugmentation, type AugmentationConfig, type PreprocessingConfig } from '@lite-cnn/sdk';

const BREAKHIS = fileURLToPath(new URL('../../../../shared/data/breakhis-200x-tiles', import.meta.url));

function randomBytes(len: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 255;
  }
  return out;
}

const bitsEqual = (a: Float32Array, b: Float32Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const JITTERED: AugmentationConfig = { ...studyAugmentation, verticalFlip: true, fillMode: 'reflect', brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05, stainScale: 0.1, stainShift: 0.02 };

describe('WasmImageTransformer', () => {
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

  const make = (engine: Engine, preprocessing: PreprocessingConfig, augmentation?: AugmentationConfig, seed = 7) =>
    new WasmImageTransformer(engine, { preprocessing, seed, ...(augmentation ? { augmentation } : {}) });

  it('identity + minmax equals x / 255 exactly (with and without augment, and with zero ranges)', () => {
    const shape = [5, 7, 3] as const;
    const images = randomBytes(4 * 5 * 7 * 3, 1);
    const want = Float32Array.from(images, (v) => v / 255);
    for (const t of [make(e2, { kind: 'minmax' }), make(e2, { kind: 'minmax' }, {}), make(e2, { kind: 'minmax' }, { rotationRange: 0, zoomRange: [1, 1] })]) {
      for (const augment of [false, true]) {
        const out = t.transform({ images, shape, augment, epoch: 3 });
        expect(bitsEqual(out, want), `augment=${augment}`).toBe(true);
      }
      t.free();
    }
    // 'none' keeps raw 0-255 values; grayscale works too.
    const grey = randomBytes(2 * 4 * 6, 2);
    expect(Array.from(make(e2, { kind: 'none' }).transform({ images: grey, shape: [4, 6, 1] }))).toEqual(Array.from(grey));
  });

  it('caffe and standardize give the hand-computed values', () => {
    const images = new Uint8Array([10, 20, 30, 255, 51, 0]);
    const caffe = make(e2, { kind: 'caffe', mean: [103.939, 116.779, 123.68] }).transform({ images, shape: [1, 2, 3] });
    const wantCaffe = [30 - 103.939, 20 - 116.779, 10 - 123.68, 0 - 103.939, 51 - 116.779, 255 - 123.68];
    caffe.forEach((v, i) => expect(v).toBeCloseTo(wantCaffe[i]!, 4));
    const std = make(e2, { kind: 'standardize', mean: [0.5, 0.4, 0.25], std: [0.25, 0.2, 0.5] }).transform({ images, shape: [1, 2, 3] });
    const wantStd = [(10 / 255 - 0.5) / 0.25, (20 / 255 - 0.4) / 0.2, (30 / 255 - 0.25) / 0.5, 2, -1, -0.5];
    std.forEach((v, i) => expect(v).toBeCloseTo(wantStd[i]!, 5));
    const grey = make(e2, { kind: 'standardize', mean: [0.5], std: [0.5] }).transform({ images: new Uint8Array([0, 255]), shape: [1, 2, 1] });
    expect(Array.from(grey)).toEqual([-1, 1]);
  });

  it('horizontal flip mirrors columns for about half of the sample ids', () => {
    const [h, w, c] = [3, 4, 3];
    const per = h * w * c;
    const img = randomBytes(per, 3);
    const mirrored = new Float32Array(per);
    for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++) mirrored[(r * w + col) * c + ch] = img[(r * w + (w - 1 - col)) * c + ch]!;
    const plain = Float32Array.from(img);
    const n = 32;
    const images = new Uint8Array(n * per);
    for (let i = 0; i < n; i++) images.set(img, i * per);
    const out = make(e2, { kind: 'none' }, { horizontalFlip: true }).transform({ images, shape: [h, w, c], augment: true });
    let flipped = 0;
    for (let i = 0; i < n; i++) {
      const one = out.subarray(i * per, (i + 1) * per);
      if (bitsEqual(one, mirrored)) flipped++;
      else expect(bitsEqual(one, plain), `image ${i} is either mirrored or unchanged`).toBe(true);
    }
    expect(flipped).toBeGreaterThan(4);
    expect(flipped).toBeLessThan(28);
  });

  it('same (seed, epoch, id): identical output in any batch position and with 1 or 2 threads; epochs and seeds differ', () => {
    const shape = [24, 20, 3] as const;
    const per = 24 * 20 * 3;
    const img = (id: number) => randomBytes(per, 100 + id);
    const batch = (t: WasmImageTransformer, ids: number[], epoch = 2) => {
      const images = new Uint8Array(ids.length * per);
      ids.forEach((id, i) => images.set(img(id), i * per));
      return t.transform({ images, shape, sampleIds: ids, epoch, augment: true });
    };
    const t2 = make(e2, { kind: 'minmax' }, JITTERED, 42);
    const t1 = make(e1, { kind: 'minmax' }, JITTERED, 42);
    const a = batch(t2, [5, 9, 2, 11]);
    const b = batch(t2, [2, 5]);
    const one = batch(t1, [9]);
    expect(bitsEqual(a.subarray(2 * per, 3 * per), b.subarray(0, per)), 'id 2 at positions 2 and 0').toBe(true);
    expect(bitsEqual(a.subarray(0, per), b.subarray(per, 2 * per)), 'id 5 at positions 0 and 1').toBe(true);
    expect(bitsEqual(a.subarray(per, 2 * per), one), 'id 9: 2 threads in a batch of 4 vs 1 thread alone').toBe(true);
    expect(bitsEqual(batch(t1, [5, 9, 2, 11]), a), 'whole batch, 1 vs 2 threads').toBe(true);
    expect(bitsEqual(batch(t2, [5, 9, 2, 11], 3), a), 'another epoch').toBe(false);
    expect(bitsEqual(batch(make(e2, { kind: 'minmax' }, JITTERED, 43), [5, 9, 2, 11]), a), 'another seed').toBe(false);
    // The augmentation actually changes images, and stays in range.
    expect(bitsEqual(a.subarray(0, per), Float32Array.from(img(5), (v) => v / 255))).toBe(false);
    expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('run() works on views into wasm memory (the zero-copy path) and matches transform()', () => {
    const [n, h, w, c] = [3, 9, 11, 3];
    const len = n * h * w * c;
    const images = randomBytes(len, 9);
    const t = make(e2, { kind: 'caffe', mean: [103.939, 116.779, 123.68] }, JITTERED, 5);
    const heap = e2.memory;
    const src = heap.alloc(len, 16);
    const dst = heap.alloc(len * 4, 16);
    const ids = heap.alloc(n * 4, 16);
    try {
      heap.u8(src, len).set(images);
      heap.u32(ids, n).set([4, 8, 15]);
      heap.f32(dst, len).fill(Number.NaN);
      t.run({ src: heap.u8(src, len), dst: heap.f32(dst, len), n, shape: [h, w, c], sampleIds: heap.u32(ids, n), epoch: 1, augment: true });
      const viaCopy = t.transform({ images, shape: [h, w, c], sampleIds: [4, 8, 15], epoch: 1, augment: true });
      const got = heap.f32(dst, len).slice();
      expect(got.some(Number.isNaN)).toBe(false);
      expect(bitsEqual(got, viaCopy)).toBe(true);
      // Arrays outside wasm memory are refused by run().
      expect(() => t.run({ src: images, dst: new Float32Array(len), n, shape: [h, w, c], sampleIds: new Uint32Array(n), epoch: 0, augment: false })).toThrow(DataError);
    } finally {
      heap.free(src, len, 16);
      heap.free(dst, len * 4, 16);
      heap.free(ids, n * 4, 16);
    }
  });

  it('validates configs and batches with typed errors naming the field, expected and received value', () => {
    const bad: [AugmentationConfig, RegExp][] = [
      [{ rotationRange: -1 }, /rotationRange must be a number of degrees in \[0, 360\], got -1/],
      [{ shearRange: 90 }, /shearRange must be .*degrees.*got 90/],
      [{ widthShiftRange: 1.5 }, /widthShiftRange must be a fraction of the width in \[0, 1\], got 1.5/],
      [{ zoomRange: [1.2, 0.8] }, /zoomRange must be .*got \[1.2,0.8\]/],
      [{ zoomRange: 1 }, /zoomRange must be a number in \[0, 1\)/],
      [{ fillMode: 'wrap' as 'reflect' }, /fillMode must be one of 'nearest', 'reflect', 'constant', got "wrap"/],
      [{ hue: 0.6 }, /hue must be a fraction of the colour wheel in \[0, 0.5\], got 0.6/],
      [{ stainScale: 1.5 }, /stainScale must be a number in \[0, 1\], got 1.5/],
      [{ stainShift: -0.1 }, /stainShift must be a number in \[0, 1\], got -0.1/],
      [{ brightness: Number.NaN }, /brightness must be a finite number >= 0, got NaN/],
      [{ horizontalFlip: 1 as unknown as boolean }, /horizontalFlip must be a boolean, got 1/],
      [{ rotation: 10 } as unknown as AugmentationConfig, /unknown option 'rotation'/],
    ];
    for (const [cfg, re] of bad) expect(() => make(e2, { kind: 'minmax' }, cfg)).toThrow(re);
    expect(() => make(e2, { kind: 'minmax' }, { hue: 0.6 })).toThrow(ConfigError);
    expect(() => make(e2, { kind: 'standardize', mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(/standardize std must be 3 finite numbers > 0/);
    expect(() => make(e2, { kind: 'caffe', mean: [1, 2] as unknown as [number, number, number] })).toThrow(/caffe mean must be 3 finite numbers/);
    expect(() => new WasmImageTransformer(e2, { preprocessing: { kind: 'minmax' }, seed: -1 })).toThrow(/seed must be a non-negative safe integer, got -1/);
    const t = make(e2, { kind: 'minmax' });
    expect(() => t.transform({ images: new Uint8Array(8), shape: [2, 2, 2] })).toThrow(ShapeError);
    expect(() => t.transform({ images: new Uint8Array(8), shape: [2, 2, 2] })).toThrow(/c = 1 or 3/);
    expect(() => t.transform({ images: new Uint8Array(13), shape: [2, 2, 3] })).toThrow(/whole number/);
    expect(() => t.transform({ images: new Uint8Array(12), shape: [2, 2, 3], sampleIds: [1, 2] })).toThrow(/expected 1 sample ids, got 2/);
    expect(() => t.transform({ images: new Uint8Array(12), shape: [2, 2, 3], epoch: -1 })).toThrow(/epoch must be an integer/);
    expect(() => make(e2, { kind: 'standardize', mean: [0.5], std: [0.5] }).transform({ images: new Uint8Array(12), shape: [2, 2, 3] })).toThrow(/1 channel statistics but the images have 3 channels/);
    // The kernel validates the struct on its own: a raw call with a bad fill mode is an error, not a trap.
    const heap = e2.memory;
    const args = heap.alloc(136, 16);
    try {
      heap.u8(args, 136).fill(0);
      expect(() => e2.call('imageTransform', () => e2.raw.lc_image_transform(args))).toThrow(ShapeError); // n = 0
    } finally {
      heap.free(args, 136, 16);
    }
  });

  it('augments a real image sensibly (statistics within bounds, no NaN)', async () => {
    const sources: { name: string; rgb: Uint8Array }[] = [];
    // A synthetic "tissue" image: smooth colour gradients plus blobs.
    const [W, H] = [224, 224];
    const synth = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const blob = Math.sin(x / 9) * Math.cos(y / 7) > 0.5 ? 1 : 0;
        const i = (y * W + x) * 3;
        synth[i] = 200 - 80 * blob;
        synth[i + 1] = 120 + (x / W) * 60 - 50 * blob;
        synth[i + 2] = 180 + (y / H) * 40;
      }
    }
    const png = await sharp(synth, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    sources.push({ name: 'generated PNG', rgb: new Uint8Array(await sharp(png).removeAlpha().raw().toBuffer()) });
    if (existsSync(BREAKHIS)) {
      const dir = join(BREAKHIS, 'malignant');
      const file = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort()[0]!;
      const { data, info } = await sharp(join(dir, file)).removeAlpha().resize(W, H, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([W, H, 3]);
      sources.push({ name: `BreakHis ${file}`, rgb: new Uint8Array(data) });
    } else {
      console.log(`augment.test: skipping the BreakHis tile check: ${BREAKHIS} is absent`);
    }
    const t = make(e2, { kind: 'minmax' }, JITTERED, 11);
    const per = W * H * 3;
    for (const { name, rgb } of sources) {
      const n = 8;
      const images = new Uint8Array(n * per);
      for (let i = 0; i < n; i++) images.set(rgb, i * per);
      const out = t.transform({ images, shape: [H, W, 3], augment: true, epoch: 0 });
      const mean0 = rgb.reduce((s, v) => s + v, 0) / per / 255;
      for (let i = 0; i < n; i++) {
        const img = out.subarray(i * per, (i + 1) * per);
        let sum = 0;
        let sq = 0;
        let bad = 0;
        for (const v of img) {
          if (!(Number.isFinite(v) && v >= 0 && v <= 1)) bad++;
          sum += v;
          sq += v * v;
        }
        expect(bad, `${name} image ${i}: values that are NaN or outside [0, 1]`).toBe(0);
        const mean = sum / per;
        const sd = Math.sqrt(sq / per - mean * mean);
        // Brightness/contrast ±20% move the mean by at most ~20% (plus clamping); the warp keeps content.
        expect(Math.abs(mean - mean0), `${name} image ${i}: mean ${mean} vs original ${mean0}`).toBeLessThan(0.25 * mean0 + 0.02);
        expect(sd, `${name} image ${i}: not flat`).toBeGreaterThan(0.02);
      }
    }
  });
});
