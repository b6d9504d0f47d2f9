/**
 * examples/browser in Debian's Chromium (playwright-core, never a downloaded
 * browser): the page loads and says which engine it runs on (threaded with
 * the COOP/COEP/CORP headers, single-threaded without), classifies an image
 * exactly as the SDK does in Node, draws the Grad-CAM heatmap, its opacity
 * slider works, and in-page training lowers the loss, keeps the page
 * responsive, and stops on the stop button.
 *
 * The model: until the lead commits the BreakHis model trained by the CLI
 * (examples/browser/public/models/breakhis.safetensors), a PLACEHOLDER with
 * the same architecture (a couple of steps on random data) is generated here
 * and loaded through the page's file picker. The equality test (page = Node
 * for the same image and model) holds for either model; the label test runs
 * once the real model and the BreakHis tiles are present.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { Engine, Sequential, WasmImageTransformer, decodeImage, normalizeStains, predictWithTta, type PreprocessingConfig, type StainNormalizationConfig } from '@lite-cnn/sdk';
import { chromiumMissingReason, launchChromium } from './support/chromium.js';
import { startExampleServer, type ExampleServer } from '../../examples/browser/server.mjs';
import { buildData } from '../../examples/browser/scripts/build-data.mjs';
import { makePlaceholderModel } from '../../examples/browser/scripts/make-placeholder-model.mjs';

const exampleDir = fileURLToPath(new URL('../../examples/browser', import.meta.url));
const REAL_MODEL = join(exampleDir, 'public/models/breakhis.safetensors');
// The shared data sit beside the checkout (../shared), as on the developers' machines and in CI.
const TILES = process.env.LITE_CNN_BREAKHIS_TILES ?? fileURLToPath(new URL('../../../shared/data/breakhis-200x-tiles', import.meta.url));

const missing = chromiumMissingReason();
if (missing) console.log(`skipping browser example tests: ${missing}`);
const realModelMissing = !existsSync(REAL_MODEL)
  ? `no committed model at ${REAL_MODEL} yet`
  : !existsSync(TILES)
    ? `no BreakHis tiles at ${TILES}`
    : undefined;
if (!missing && realModelMissing) console.log(`skipping the BreakHis label test: ${realModelMissing}`);

/** Test-side state the page keeps in `window.__app` (see examples/browser/public/app.js). */
interface AppState {
  pageCrossOriginIsolated: boolean;
  engine: { artifact: string; threads: number; simd: boolean; relaxedSimd: boolean; crossOriginIsolated: boolean } | null;
  engineError: string | null;
  model: { source: string; classNames: string[]; inputShape: number[] } | null;
  modelError: { source: string; missing: boolean; message: string } | null;
  lastResult: { id: number; probabilities: number[]; classIndex: number; className: string } | null;
  classifyError: string | null;
  results: unknown[];
  training: {
    running: boolean;
    events: { type: string; step?: number; logs: Record<string, number> }[];
    done: { stopped: boolean; epochsRun: number; steps: number; testAccuracy: number; testLoss: number } | null;
    error: string | null;
    maxTickGapMs?: number;
    ticksAtStart?: number;
    ticksAtEnd?: number;
  };
  ticks: number;
}

/** Model inputs in Node the way the CLI makes them: the SDK's wasm transformer with the model's stored preprocessing. */
function modelInputs(engine: Engine, pixels: Uint8Array, shape: [number, number, number], p: PreprocessingConfig): Float32Array {
  const t = new WasmImageTransformer(engine, { preprocessing: p, seed: 0 });
  try {
    return t.transform({ images: pixels, shape });
  } finally {
    t.free();
  }
}

/** A 224×224 RGB test picture with structure at every scale (gradients, rings, a bright square). PNG: lossless, so browser and sharp decode the same bytes. */
async function makeTestImage(path: string): Promise<void> {
  const w = 224;
  const h = 224;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const r = Math.hypot(x - 80, y - 120);
      px[i] = (x * 255) / (w - 1);
      px[i + 1] = 128 + 100 * Math.sin(r / 6);
      px[i + 2] = (y * 255) / (h - 1);
      if (x > 150 && x < 200 && y > 20 && y < 70) px.fill(240, i, i + 3);
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
}

describe.skipIf(missing !== undefined)('examples/browser in Chromium', () => {
  let isolated: ExampleServer;
  let plain: ExampleServer;
  let browser: BrowserContext;
  let dir: string;
  let placeholderPath: string;
  let imagePath: string;
  let nodeProbs: number[];
  let nodeClass: number;
  let engine: Engine;

  beforeAll(async () => {
    buildData({ log: () => {} }); // the MNIST subset (a build output; a no-op when present)
    dir = mkdtempSync(join(tmpdir(), 'lite-cnn-browser-example-'));
    // Test fixture: the placeholder model (BreakHis architecture, random-data weights).
    engine = await Engine.create({ threads: 2 });
    const bytes = await makePlaceholderModel({ engine });
    placeholderPath = join(dir, 'placeholder-breakhis.safetensors');
    writeFileSync(placeholderPath, bytes);
    imagePath = join(dir, 'pattern.png');
    await makeTestImage(imagePath);
    // The SDK in Node on the same image and model: the page must give the same numbers.
    const model = await Sequential.fromBytes(bytes, { engine });
    const [h, w, c] = model.inputShape;
    const pixels = await decodeImage(imagePath, { shape: [h, w, c], aspect: 'squash' });
    const x = { data: modelInputs(engine, pixels, [h, w, c], model.metadata.preprocessing), shape: [1, h, w, c] };
    nodeProbs = Array.from(await model.predict(x));
    nodeClass = (await model.predictClasses(x))[0]!;
    isolated = await startExampleServer({ isolated: true });
    plain = await startExampleServer({ isolated: false });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await isolated?.close();
    await plain?.close();
    await engine?.shutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const state = (page: Page) => page.evaluate(() => (window as unknown as { __app: AppState }).__app);

  /** Opens the page (`query`: more URL parameters, e.g. '&tta=d4') and waits until the engine is up and the default model loaded (or reported missing). */
  async function open(base: string, query = ''): Promise<{ page: Page; logs: string[] }> {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1200, height: 900 });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${base}/?threads=2${query}`);
    try {
      await page.waitForFunction(
        () => {
          const a = (window as unknown as { __app?: AppState }).__app;
          return a !== undefined && (a.engineError !== null || (a.engine !== null && (a.model !== null || a.modelError !== null)));
        },
        null,
        { timeout: 60_000 },
      );
    } catch (err) {
      throw new Error(`the page did not start: ${String(err)}\n${logs.join('\n')}`);
    }
    const s = await state(page);
    if (s.engineError) throw new Error(`engine failed: ${s.engineError}\n${logs.join('\n')}`);
    return { page, logs };
  }

  async function loadModel(page: Page, path: string): Promise<void> {
    await page.setInputFiles('#model-file', path);
    await page.waitForFunction((p) => (window as unknown as { __app: AppState }).__app.model?.source.endsWith(p) === true, path.split('/').pop()!, {
      timeout: 60_000,
    });
  }

  async function classify(page: Page, path: string): Promise<NonNullable<AppState['lastResult']>> {
    const before = (await state(page)).results.length;
    await page.setInputFiles('#image-file', path);
    await page.waitForFunction(
      (n) => {
        const a = (window as unknown as { __app: AppState }).__app;
        return a.results.length > n || a.classifyError !== null;
      },
      before,
      { timeout: 60_000 },
    );
    const s = await state(page);
    if (s.classifyError) throw new Error(`classify failed: ${s.classifyError}`);
    return s.lastResult!;
  }

  const canvasPixels = (page: Page, id: string) =>
    page.evaluate((sel) => {
      const c = document.getElementById(sel) as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
    }, id);

  it('with COOP/COEP/CORP: the threaded artifact on 2 threads, and says so', async () => {
    const { page } = await open(isolated.url);
    const s = await state(page);
    expect(s.pageCrossOriginIsolated).toBe(true);
    expect(s.engine).toMatchObject({ artifact: 'threaded-relaxed', threads: 2, simd: true, relaxedSimd: true, crossOriginIsolated: true });
    const text = await page.textContent('#engine-status');
    expect(text).toContain('threaded wasm artifact');
    expect(text).toContain('2 threads');
    expect(text).toContain('SIMD128');
    if (existsSync(REAL_MODEL)) {
      expect(s.model?.source).toBe('./models/breakhis.safetensors');
    } else {
      // No committed model yet: a clear message, and the picker still works.
      expect(s.modelError).toMatchObject({ source: './models/breakhis.safetensors', missing: true });
      expect(await page.isVisible('#model-message')).toBe(true);
      expect(await page.textContent('#model-message')).toContain('default model is missing');
    }
    await page.close();
  });

  it('without the headers: falls back to the single-threaded artifact, 1 thread, and says so', async () => {
    const { page } = await open(plain.url);
    const s = await state(page);
    expect(s.pageCrossOriginIsolated).toBe(false);
    expect(s.engine).toMatchObject({ artifact: 'single-relaxed', threads: 1, simd: true, relaxedSimd: true, crossOriginIsolated: false });
    const text = await page.textContent('#engine-status');
    expect(text).toContain('single-threaded wasm artifact');
    expect(text).toContain('1 thread');
    await page.close();
  });

  it('classifies an image exactly as the SDK does in Node, draws the Grad-CAM heatmap and feature maps; the slider changes the overlay', async () => {
    const { page } = await open(isolated.url);
    await loadModel(page, placeholderPath);
    const r = await classify(page, imagePath);
    expect(r.probabilities).toEqual(nodeProbs);
    expect(r.classIndex).toBe(nodeClass);
    expect(r.className).toBe(['benign', 'malignant'][nodeClass]);
    expect(await page.textContent('#prediction')).toContain(r.className);
    expect(await page.locator('#probs .bar-row').count()).toBe(2);
    expect(await page.textContent('#inference-ms')).toMatch(/\d+(\.\d)? ms/);

    // The heatmap: not one flat colour.
    const heat = await canvasPixels(page, 'heatmap');
    expect(heat.length).toBe(224 * 224 * 4);
    const firstPixel = heat.slice(0, 4).join(',');
    expect(heat.some((_, i) => i % 4 === 0 && heat.slice(i, i + 4).join(',') !== firstPixel)).toBe(true);

    // Feature maps: one grid per convolution block (3 in the BreakHis net).
    expect(await page.locator('#feature-maps canvas').count()).toBe(3);

    // The opacity slider: 0 shows the image alone, 100 the heatmap alone, 50 a mix.
    const setOpacity = (v: number) =>
      page.$eval(
        '#opacity',
        (el, value) => {
          (el as HTMLInputElement).value = String(value);
          el.dispatchEvent(new Event('input', { bubbles: true }));
        },
        v,
      );
    const at50 = await canvasPixels(page, 'overlay');
    await setOpacity(0);
    const at0 = await canvasPixels(page, 'overlay');
    await setOpacity(100);
    const at100 = await canvasPixels(page, 'overlay');
    expect(await page.textContent('#opacity-value')).toBe('100%');
    const diff = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    expect(diff(at0, at100)).toBeGreaterThan(5);
    expect(diff(at0, at50)).toBeGreaterThan(1);
    expect(diff(at50, at100)).toBeGreaterThan(1);
    await page.close();
  });

  it('the single-threaded fallback classifies a dropped image with the same numbers', async () => {
    const { page } = await open(plain.url);
    await loadModel(page, placeholderPath);
    // Drag and drop: a 'drop' event carrying the file, as a browser fires it.
    const png = Array.from(await readFile(imagePath));
    await page.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'pattern.png', { type: 'image/png' }));
      document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, png);
    await page.waitForFunction(() => (window as unknown as { __app: AppState }).__app.results.length > 0 || (window as unknown as { __app: AppState }).__app.classifyError !== null, null, {
      timeout: 60_000,
    });
    const s = await state(page);
    expect(s.classifyError).toBeNull();
    expect(s.lastResult!.probabilities).toEqual(nodeProbs);
    await page.close();
  });

  it('applies the model\'s stored stain normalization, and ?tta=d4, exactly as the SDK does in Node', async () => {
    // The placeholder with a Reinhard target in its metadata (L*a*b* means and standard deviations of an H&E-like tile).
    const stain: StainNormalizationConfig = { kind: 'reinhard', mean: [62, 18, -12], std: [14, 7, 5] };
    const model = await Sequential.fromBytes(new Uint8Array(await readFile(placeholderPath)), { engine });
    model.metadata = { ...model.metadata, stainNormalization: stain };
    const normalizedPath = join(dir, 'placeholder-reinhard.safetensors');
    writeFileSync(normalizedPath, model.toBytes());
    const [h, w, c] = model.inputShape;
    const pixels = await decodeImage(imagePath, { shape: [h, w, c], aspect: 'squash' });
    const { images } = await normalizeStains(pixels, [h, w, c], stain, { engine });
    expect(images).not.toEqual(pixels); // the target moves this picture's colours
    const x = { data: modelInputs(engine, images, [h, w, c], model.metadata.preprocessing), shape: [1, h, w, c] };
    const expected = Array.from(await predictWithTta(model, x, { tta: 'd4' }));
    model.dispose();

    const { page } = await open(isolated.url, '&tta=d4');
    await loadModel(page, normalizedPath);
    const r = await classify(page, imagePath);
    expect(r.probabilities).toEqual(expected);
    await page.close();
  });

  it('applies the model\'s stored calibration (with its threshold and ?tta=flips) exactly as the SDK does in Node, and says so', async () => {
    const model = await Sequential.fromBytes(new Uint8Array(await readFile(placeholderPath)), { engine });
    model.metadata = { ...model.metadata, calibration: { kind: 'platt', slope: 0.4, intercept: 0.8 }, threshold: { positiveClass: 1, value: 0.6 } };
    const calibratedPath = join(dir, 'placeholder-platt.safetensors');
    writeFileSync(calibratedPath, model.toBytes());
    const [h, w, c] = model.inputShape;
    const pixels = await decodeImage(imagePath, { shape: [h, w, c], aspect: 'squash' });
    const x = { data: modelInputs(engine, pixels, [h, w, c], model.metadata.preprocessing), shape: [1, h, w, c] };
    const expected = Array.from(await predictWithTta(model, x, { tta: 'flips' }));
    expect(expected).not.toEqual(Array.from(await predictWithTta(model, x, { tta: 'flips', calibrated: false })));
    const expectedClass = expected[1]! >= 0.6 ? 1 : 0;
    model.dispose();

    const { page } = await open(isolated.url, '&tta=flips');
    await loadModel(page, calibratedPath);
    const r = await classify(page, imagePath);
    expect(r.probabilities).toEqual(expected);
    expect(r.classIndex).toBe(expectedClass);
    const note = await page.textContent('#threshold-note');
    expect(note).toContain('when its probability ≥ 60.0%');
    expect(note).toContain('Probabilities calibrated by the model\'s stored Platt scaling (slope 0.400, intercept 0.800).');
    await page.close();
  });

  describe.skipIf(realModelMissing !== undefined)('the committed BreakHis model', () => {
    /** Per class, the first few tiles (sorted) that the SDK in Node classifies as their label. */
    async function knownTiles(): Promise<{ label: string; path: string }[]> {
      const model = await Sequential.fromBytes(new Uint8Array(await readFile(REAL_MODEL)), { engine });
      const names = model.metadata.classNames ?? [];
      const [h, w, c] = model.inputShape;
      const picked: { label: string; path: string }[] = [];
      for (const label of ['benign', 'malignant']) {
        const files = readdirSync(join(TILES, label)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 12);
        let found: string | undefined;
        for (const f of files) {
          const path = join(TILES, label, f);
          const pixels = await decodeImage(path, { shape: [h, w, c], aspect: 'squash' });
          const cls = (await model.predictClasses({ data: modelInputs(engine, pixels, [h, w, c], model.metadata.preprocessing), shape: [1, h, w, c] }))[0]!;
          if (names[cls] === label) {
            found = path;
            break;
          }
        }
        expect(found, `the committed model classifies none of the first 12 ${label} tiles as ${label}`).toBeDefined();
        picked.push({ label, path: found! });
      }
      return picked;
    }

    it('loads by default and classifies a known tile of each class as its label', async () => {
      const tiles = await knownTiles();
      const { page } = await open(isolated.url);
      const s = await state(page);
      expect(s.model?.source).toBe('./models/breakhis.safetensors');
      for (const t of tiles) {
        const r = await classify(page, t.path);
        expect(r.className, t.path).toBe(t.label);
      }
      await page.close();
    });
  });

  it('trains the MNIST net in the page: the loss falls, the page stays responsive, test accuracy is reported', async () => {
    const { page } = await open(isolated.url);
    await page.fill('#epochs', '2');
    await page.click('#train-start');
    await page.waitForFunction(
      () => {
        const t = (window as unknown as { __app: AppState }).__app.training;
        return t.done !== null || t.error !== null;
      },
      null,
      { timeout: 120_000 },
    );
    const t = (await state(page)).training;
    expect(t.error).toBeNull();
    expect(t.done).toMatchObject({ stopped: false, epochsRun: 2 });
    const batches = t.events.filter((e) => e.type === 'batch');
    expect(batches.length).toBeGreaterThan(3);
    const epochs = t.events.filter((e) => e.type === 'epoch');
    expect(epochs.length).toBe(2);
    // The first reported running loss is near ln(10) ≈ 2.3; by the second epoch it is far lower.
    expect(epochs[1]!.logs.loss!).toBeLessThan(batches[0]!.logs.loss! * 0.5);
    expect(epochs[1]!.logs.loss!).toBeLessThan(epochs[0]!.logs.loss!);
    expect(t.done!.testAccuracy).toBeGreaterThan(0.8);
    expect(await page.textContent('#test-accuracy')).toMatch(/\d+\.\d\d%/);
    // The page-side 50 ms timer kept ticking while the worker trained.
    expect(t.ticksAtEnd! - t.ticksAtStart!).toBeGreaterThan(2);
    expect(t.maxTickGapMs!).toBeLessThan(1000);
    await page.close();
  });

  it('the stop button stops training within a few batches', async () => {
    const { page } = await open(isolated.url);
    await page.fill('#epochs', '50');
    await page.click('#train-start');
    await page.waitForFunction(() => (window as unknown as { __app: AppState }).__app.training.events.filter((e) => e.type === 'batch').length >= 3, null, {
      timeout: 60_000,
    });
    const t0 = Date.now();
    await page.click('#train-stop');
    await page.waitForFunction(() => (window as unknown as { __app: AppState }).__app.training.done !== null, null, { timeout: 30_000 });
    const stopMs = Date.now() - t0;
    const t = (await state(page)).training;
    expect(t.done!.stopped).toBe(true);
    expect(t.done!.epochsRun).toBeLessThan(50);
    expect(stopMs).toBeLessThan(10_000);
    expect(await page.textContent('#train-status')).toContain('stopped');
    expect(await page.isEnabled('#train-start')).toBe(true);
    await page.close();
  });
});
