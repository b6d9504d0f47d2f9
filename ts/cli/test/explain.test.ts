/**
 * `lite-cnn explain` end to end (`npm run build` first): a tiny network
 * trained here on a synthetic task (the class is decided by a bright 3x3
 * square in some quadrant; a bright bar distracts), saved with class names and
 * preprocessing; PNG (and one BMP) inputs at sizes other than the model's;
 * every output checked for presence and size, and the raw heatmap against the
 * SDK's own gradCam on the same decoded input.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam, Conv2D, decodeImages, defaultEngine, Dense, GlobalAveragePooling2D, gradCam, MaxPooling2D, Sequential, WasmImageTransformer, type GradCamOptions,
} from '@lite-cnn/sdk';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lite-cnn-cli-explain-'));
const MODEL = join(root, 'squares.safetensors');
const THRESHOLD_MODEL = join(root, 'squares-threshold.safetensors');

function run(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args, '--threads', '2'], { encoding: 'utf8', cwd: root, env: { ...process.env, LITE_CNN_DEBUG: '' } });
}

/** 16x16 grey images in [0, 1]: faint noise, a bright 1x5 bar; class 1 also a bright 3x3 square in another quadrant. */
function squares(n: number, seed: number): { x: Float32Array; y: Uint8Array } {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const int = (k: number) => Math.floor(rand() * k);
  const x = new Float32Array(n * 256);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const img = x.subarray(i * 256, (i + 1) * 256);
    for (let p = 0; p < 256; p++) img[p] = rand() * 0.2;
    const bar = int(4);
    const [by, bx] = [(bar >> 1) * 8, (bar & 1) * 8];
    const vertical = rand() < 0.5;
    const [oy, ox] = [1 + int(vertical ? 2 : 6), 1 + int(vertical ? 6 : 2)];
    for (let t = 0; t < 5; t++) img[(by + oy + (vertical ? t : 0)) * 16 + bx + ox + (vertical ? 0 : t)] = 1;
    y[i] = i % 2;
    if (y[i] === 1) {
      const q = (bar + 1 + int(3)) % 4;
      const [qy, qx] = [(q >> 1) * 8 + 1 + int(5), (q & 1) * 8 + 1 + int(5)];
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) img[(qy + dy) * 16 + qx + dx] = 1;
    }
  }
  return { x, y };
}

/** One 16x16 sample as 8-bit grey pixels. */
function bytesOf(x: Float32Array, i: number): Buffer {
  return Buffer.from(Array.from(x.subarray(i * 256, (i + 1) * 256), (v) => Math.round(v * 255)));
}

/** A 24-bit bottom-up BMP (sharp cannot write BMP; the SDK reads it). */
function bmp(rgb: Buffer, width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + stride * height);
  out.write('BM', 0);
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = ((height - 1 - y) * width + x) * 3;
      const dst = 54 + y * stride + x * 3;
      out[dst] = rgb[src + 2]!;
      out[dst + 1] = rgb[src + 1]!;
      out[dst + 2] = rgb[src]!;
    }
  }
  return out;
}

const IMAGES = {
  /** Class 1, grey PNG enlarged 6x (96x96). */
  square: join(root, 'square.png'),
  /** Class 0, grey PNG stretched to 80 wide x 48 high (not square: the overlay keeps it). */
  plain: join(root, 'plain.png'),
  /** Class 1, an RGB PNG (the square and bar yellow, the background bluish), 64x64. */
  colour: join(root, 'colour.png'),
  /** Class 1, a BMP at 32x32. */
  bitmap: join(root, 'bitmap.bmp'),
};
const SIZES: Record<keyof typeof IMAGES, [number, number]> = { square: [96, 96], plain: [48, 80], colour: [64, 64], bitmap: [32, 32] };

beforeAll(async () => {
  const model = new Sequential(
    [
      new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 16, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      new GlobalAveragePooling2D(),
      new Dense({ units: 2, activation: 'softmax' }),
    ],
    { name: 'squares', seed: 3 },
  );
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const train = squares(512, 1);
  const x = { data: train.x, shape: [512, 16, 16, 1] };
  for (let epoch = 0; epoch < 12 && (await model.evaluate(x, train.y)).accuracy! < 0.97; epoch++) await model.fit(x, train.y, { epochs: 1, batchSize: 32 });
  model.metadata = { classNames: ['plain', 'square'], preprocessing: { kind: 'minmax' }, threshold: null };
  await model.save(MODEL);
  model.metadata = { ...model.metadata, threshold: { positiveClass: 1, value: 0.3 } };
  await model.save(THRESHOLD_MODEL);

  const test = squares(8, 7); // samples 1, 3, 5 are class 1; 0, 2 class 0
  const grey = (i: number) => sharp(bytesOf(test.x, i), { raw: { width: 16, height: 16, channels: 1 } });
  await grey(1).resize(96, 96, { kernel: 'nearest' }).png().toFile(IMAGES.square);
  await grey(0).resize(80, 48, { kernel: 'nearest', fit: 'fill' }).png().toFile(IMAGES.plain);
  const g = bytesOf(test.x, 3);
  const rgb = Buffer.alloc(256 * 3);
  for (let p = 0; p < 256; p++) rgb.set(g[p]! > 200 ? [255, 235, 120] : [g[p]!, g[p]! + 10, g[p]! + 30], p * 3);
  await sharp(rgb, { raw: { width: 16, height: 16, channels: 3 } }).resize(64, 64, { kernel: 'nearest' }).png().toFile(IMAGES.colour);
  const big = await grey(5).resize(32, 32, { kernel: 'nearest' }).toColourspace('srgb').raw().toBuffer();
  writeFileSync(IMAGES.bitmap, bmp(big, 32, 32));
}, 120_000);

/** What the CLI computes, computed here with the SDK: decode (squash) + the model's preprocessing + gradCam. */
async function sdkGradCam(paths: string[], options: GradCamOptions = {}) {
  const model = await Sequential.load(MODEL);
  const { images } = await decodeImages(paths, { shape: model.inputShape });
  const t = new WasmImageTransformer(await defaultEngine(), { preprocessing: model.metadata.preprocessing, seed: model.seed });
  return gradCam(model, { data: t.transform({ images, shape: model.inputShape }), shape: [paths.length, ...model.inputShape] }, options);
}

function expectClose(actual: readonly number[], expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `value ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol));
}

async function pngSize(path: string): Promise<[number, number]> {
  const meta = await sharp(path).metadata();
  expect(meta.format).toBe('png');
  return [meta.height!, meta.width!];
}

describe('lite-cnn explain', () => {
  it('--help documents the options and outputs', () => {
    const r = spawnSync(process.execPath, [MAIN, 'explain', '--help'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const s of ['--model', '--out', '--layer', '--class', '--colormap', '--alpha', '--json', 'gradcam.png', 'heatmap.json', 'features-<layer>.png']) expect(r.stdout).toContain(s);
  });

  it('writes every file at the documented sizes; the raw heatmap equals the SDK gradCam', { timeout: 60_000 }, async () => {
    const out = join(root, 'out-default', 'nested');
    const names = Object.keys(IMAGES) as (keyof typeof IMAGES)[];
    const paths = names.map((n) => IMAGES[n]);
    const r = run(['explain', '--model', MODEL, ...paths, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/square\.png: (plain|square) {2}\(plain \d+\.\d%, square \d+\.\d%\)/);
    expect(r.stdout).toMatch(/Grad-CAM of '(plain|square)' at conv2d_1 \(8x8\)/);
    expect(r.stdout).not.toMatch(/threshold/);

    const expected = await sdkGradCam(paths);
    expect(expected.layer.name).toBe('conv2d_1');
    for (const [i, name] of names.entries()) {
      for (const suffix of ['gradcam.png', 'heatmap.png', 'heatmap.json', 'features-conv2d.png', 'features-conv2d_1.png']) {
        expect(existsSync(join(out, `${name}.${suffix}`)), `${name}.${suffix}`).toBe(true);
      }
      // The overlay at the image's own size; the 8x8 map in 32x32 blocks; 8 channels in 3x3 tiles of 64 px + 1 px separators.
      expect(await pngSize(join(out, `${name}.gradcam.png`))).toEqual(SIZES[name]);
      expect(await pngSize(join(out, `${name}.heatmap.png`))).toEqual([256, 256]);
      expect(await pngSize(join(out, `${name}.features-conv2d.png`))).toEqual([3 * 64 + 2, 3 * 64 + 2]);
      expect(await pngSize(join(out, `${name}.features-conv2d_1.png`))).toEqual([3 * 64 + 2, 3 * 64 + 2]);

      const doc = JSON.parse(readFileSync(join(out, `${name}.heatmap.json`), 'utf8'));
      const map = expected.maps[i]!;
      expect(doc).toMatchObject({ layer: 'conv2d_1', classIndex: map.classIndex, className: ['plain', 'square'][map.classIndex], shape: [8, 8], upsampledShape: SIZES[name], inputShape: [16, 16], score: 'logit' });
      expectClose(doc.values, map.heatmap);
      expectClose(doc.probabilities, map.probabilities);
      expect(Math.max(...doc.values)).toBeGreaterThan(0);
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The trained net finds the squares (as the SDK's tests ask of it).
    expect(expected.maps.map((m) => m.classIndex)).toEqual([1, 0, 1, 1]);
  });

  it('--json lists predictions and files; --layer and --class choose what is explained', { timeout: 60_000 }, async () => {
    const out = join(root, 'out-layer');
    const r = run(['explain', '--model', MODEL, IMAGES.square, IMAGES.plain, '--out', out, '--layer', 'conv2d', '--class', 'plain', '--colormap', 'viridis', '--alpha', '0.6', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ file: IMAGES.square, class: 'square', classIndex: 1, threshold: null, explained: { class: 'plain', classIndex: 0, layer: 'conv2d' } });
    expect(rows[0].probabilities.plain + rows[0].probabilities.square).toBeCloseTo(1, 5);
    expect(rows[0].outputs.gradcam).toBe(join(out, 'square.gradcam.png'));
    expect(rows[0].outputs.features.map((f: { layer: string }) => f.layer)).toEqual(['conv2d', 'conv2d_1']);
    expect(r.stderr).toMatch(/Grad-CAM of 'plain' at conv2d \(16x16\)/); // human lines move to stderr

    const expected = await sdkGradCam([IMAGES.square, IMAGES.plain], { layer: 'conv2d', classIndex: 0 });
    for (const [i, name] of ['square', 'plain'].entries()) {
      const doc = JSON.parse(readFileSync(join(out, `${name}.heatmap.json`), 'utf8'));
      expect(doc).toMatchObject({ layer: 'conv2d', classIndex: 0, className: 'plain', shape: [16, 16] });
      expectClose(doc.values, expected.maps[i]!.heatmap);
      expect(await pngSize(join(out, `${name}.heatmap.png`))).toEqual([256, 256]);
    }

    // By index, and a class by index.
    const byIndex = run(['explain', '--model', MODEL, IMAGES.square, '--out', join(root, 'out-index'), '--layer', '1', '--class', '1', '--json']);
    expect(byIndex.status, byIndex.stderr).toBe(0);
    expect(JSON.parse(byIndex.stdout)[0].explained).toMatchObject({ layer: 'max_pooling2d', classIndex: 1 });
  });

  it('prints the stored decision threshold; images with the same name get distinct outputs', () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    copyFileSync(IMAGES.square, join(a, 'x.png'));
    copyFileSync(IMAGES.plain, join(b, 'x.png'));
    const out = join(root, 'out-dup');
    const r = run(['explain', '--model', THRESHOLD_MODEL, join(a, 'x.png'), join(b, 'x.png'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/decision threshold \(stored in the model\): 0\.3 on 'square'/);
    expect(existsSync(join(out, 'x.gradcam.png'))).toBe(true);
    expect(existsSync(join(out, 'x-2.gradcam.png'))).toBe(true);
  });

  describe('errors', () => {
    it.each([
      [['--layer', 'nope'], /--layer 'nope': the model has no such layer; layers Grad-CAM can use: conv2d \(Conv2D, 16x16x8\), max_pooling2d \(MaxPooling2D, 8x8x8\), conv2d_1 \(Conv2D, 8x8x8\)/],
      [['--layer', 'dense'], /--layer 'dense': dense \(Dense, 1x1x2\) has no spatial extent to localize on; layers Grad-CAM can use: conv2d/],
      [['--class', 'cat'], /--class 'cat': the model has no such class; its classes: 0 'plain', 1 'square'/],
      [['--class', '2'], /--class '2': the model has no such class/],
    ])('%j exits 1 with a message', (extra, message) => {
      const out = join(root, 'out-error');
      const r = run(['explain', '--model', MODEL, IMAGES.square, '--out', out, ...extra]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    });

    it('an unreadable or missing image exits 1 naming the file, before anything is written', () => {
      const bad = join(root, 'broken.png');
      writeFileSync(bad, 'not a png');
      const out = join(root, 'out-bad');
      const r = run(['explain', '--model', MODEL, IMAGES.square, bad, '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`cannot decode ${bad}`);
      expect(existsSync(out)).toBe(false);
      const missing = run(['explain', '--model', MODEL, join(root, 'missing.png'), '--out', out]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain(join(root, 'missing.png'));
    });

    it('a missing model exits 1', () => {
      const r = run(['explain', '--model', join(root, 'nope.safetensors'), IMAGES.square, '--out', join(root, 'out-nomodel')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot read model file .*nope\.safetensors/);
    });

    it('an --out that is a file exits 1', () => {
      const file = join(root, 'a-file');
      writeFileSync(file, 'x');
      const r = run(['explain', '--model', MODEL, IMAGES.square, '--out', join(file, 'dir')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot create the output directory .*a-file\/dir/);
    });

    it.each([
      [['--alpha', '1.5'], /'--alpha <a>' argument '1\.5' is invalid\. expected an opacity in \[0, 1\]/],
      [['--colormap', 'rainbow'], /argument 'rainbow' is invalid\. Allowed choices are jet, viridis/],
    ])('usage error %j exits 2', (extra, message) => {
      const r = run(['explain', '--model', MODEL, IMAGES.square, '--out', join(root, 'o'), ...extra]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    });

    it('no --out is a usage error', () => {
      const r = run(['explain', '--model', MODEL, IMAGES.square]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/required option '--out <dir>' not specified/);
    });
  });
});
