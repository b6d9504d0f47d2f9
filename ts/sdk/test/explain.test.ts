/**
 * Explainability: feature maps and Grad-CAM against hand-computed values on
 * tiny models with hand-set weights, the display helpers, the error paths,
 * and Grad-CAM localizing the evidence in a trained network.
 */
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BatchNormalization,
  ConfigError,
  Conv2D,
  Dense,
  Dropout,
  featureMaps,
  Flatten,
  GlobalAveragePooling2D,
  gradCam,
  heatmapToRgba,
  MaxPooling2D,
  normalizeMax,
  overlay,
  Sequential,
  ShapeError,
} from '@lite-cnn/sdk';

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`).toBeLessThanOrEqual(tol);
  }
}

/** x = 1..9 on a 3x3 grid, row-major (x[i][j] = 3i + j + 1). */
const X = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
/** The same pixels in reverse order (x'[i][j] = 9 − 3i − j). */
const X_REV = new Float32Array([9, 8, 7, 6, 5, 4, 3, 2, 1]);

/**
 * Model A: Conv2D(2 filters, 1x1, relu) → Flatten → Dense(2, softmax), input 3x3x1.
 *
 *   filter 0: weight 1, bias 0      → A0[p] = x[p]                = 1..9
 *   filter 1: weight −1, bias 5.5   → A1[p] = relu(5.5 − x[p])    = 4.5 3.5 2.5 1.5 0.5 0 0 0 0
 *
 * Flatten keeps NHWC order: feature 2p + k is A_k[p]. The dense kernel is
 * [18, 2] ([in, out]); logit z_c = Σ_{p,k} A_k[p]·W[2p+k, c] (bias 0), so
 * ∂z_c/∂A_k[p] = W[2p+k, c]: the gradient w.r.t. A is the kernel column
 * reshaped to [3, 3, 2], and α_k is its spatial mean.
 *
 *   class 0: W[2p, 0] = p, W[2p+1, 0] = −1  → α = (mean(0..8), −1) = (4, −1)
 *   class 1: W[2p, 1] = 0, W[2p+1, 1] = 0.5 → α = (0, 0.5)
 *
 *   map_0[p] = relu(4·x[p] − A1[p]) = relu(4−4.5, 8−3.5, 12−2.5, 16−1.5, 20−0.5, 24, 28, 32, 36)
 *            = 0, 4.5, 9.5, 14.5, 19.5, 24, 28, 32, 36
 *   map_1[p] = relu(0.5·A1[p])      = 2.25, 1.75, 1.25, 0.75, 0.25, 0, 0, 0, 0
 *
 * z0 = Σ p(p+1) − Σ A1 = 240 − 12.5 = 227.5 and z1 = 0.5·12.5 = 6.25: class 0
 * is predicted with p0 = 1 − e^−221.25 (1 in float32). The gradient of that
 * *probability* is p0·(1 − p0)·… ≈ 0, so a probability-based map would be all
 * zero: why Grad-CAM differentiates the logit.
 */
async function modelA(): Promise<Sequential> {
  const m = new Sequential(
    [
      new Conv2D({ name: 'conv', filters: 2, kernelSize: 1, activation: 'relu', inputShape: [3, 3, 1] }),
      new Flatten({ name: 'flat' }),
      new Dense({ name: 'dense', units: 2, activation: 'softmax' }),
    ],
    { name: 'tiny_a' },
  );
  await m.build({ batchSize: 2 });
  const dense = new Float32Array(18 * 2);
  for (let p = 0; p < 9; p++) {
    dense[(2 * p) * 2 + 0] = p;
    dense[(2 * p + 1) * 2 + 0] = -1;
    dense[(2 * p) * 2 + 1] = 0;
    dense[(2 * p + 1) * 2 + 1] = 0.5;
  }
  m.setWeights({
    'layers.0.kernel': new Float32Array([1, -1]),
    'layers.0.bias': new Float32Array([0, 5.5]),
    'layers.2.kernel': dense,
    'layers.2.bias': new Float32Array([0, 0]),
  });
  return m;
}

/**
 * Model B: Conv2D(2 filters, 2x2 valid, relu) → GlobalAveragePooling2D → Dense(2, softmax), input 3x3x1.
 * Conv kernel [2, 2, 1, 2] (index (dy·2 + dx)·2 + k):
 *
 *   filter 0: 0.25 everywhere, bias 0       → A0[i][j] = mean of the 2x2 patch = 3i + j + 3 → [[3, 4], [6, 7]]
 *   filter 1: 1 at the top-left, bias −3.5  → A1[i][j] = relu(x[i][j] − 3.5)            → [[0, 0], [0.5, 1.5]]
 *
 * GAP then Dense: z_c = Σ_k W[k, c]·mean(A_k), so ∂z_c/∂A_k[p] = W[k, c]/4 at
 * every position and α_k = W[k, c]/4 (Grad-CAM reduces to CAM here).
 * Dense kernel [2, 2] = [[1, −1], [−2, 4]] ([in, out]), bias 0.
 *
 *   z0 = 5 − 2·0.5 = 4, z1 = −5 + 4·0.5 = −3 → class 0 (p0 = 1/(1 + e^−7)).
 *   class 0: α = (0.25, −0.5): map = relu(0.25·A0 − 0.5·A1) = [[0.75, 1], [1.25, 1]]
 *   class 1: α = (−0.25, 1):   map = relu(−0.25·A0 + A1)    = relu([[−0.75, −1], [−1, −0.25]]) = all 0
 *
 * Upsampling [2, 2] → [3, 3] bilinearly with half-pixel centres samples source
 * coordinates (d + 0.5)·2/3 − 0.5 = −1/6 → 0 (clamped), 1/2, 7/6 → 1 (clamped):
 * [[a, (a+b)/2, b], [(a+c)/2, (a+b+c+d)/4, (b+d)/2], [c, (c+d)/2, d]]
 *   = [[0.75, 0.875, 1], [1, 1, 1], [1.25, 1.125, 1]]; max-normalized: ÷ 1.25.
 *
 * For x' (pixels reversed): A0' = [[7, 6], [4, 3]], A1' = relu(x' − 3.5) = [[5.5, 4.5], [2.5, 1.5]];
 * z0' = 5 − 2·3.5 = −2, z1' = −5 + 4·3.5 = 9 → class 1, map = relu(−0.25·A0' + A1') = [[3.75, 3], [1.5, 0.75]].
 */
async function modelB(): Promise<Sequential> {
  const m = new Sequential(
    [
      new Conv2D({ name: 'conv', filters: 2, kernelSize: 2, activation: 'relu', inputShape: [3, 3, 1] }),
      new GlobalAveragePooling2D({ name: 'gap' }),
      new Dense({ name: 'dense', units: 2, activation: 'softmax' }),
    ],
    { name: 'tiny_b' },
  );
  await m.build({ batchSize: 2 });
  m.setWeights({
    'layers.0.kernel': new Float32Array([0.25, 1, 0.25, 0, 0.25, 0, 0.25, 0]),
    'layers.0.bias': new Float32Array([0, -3.5]),
    'layers.2.kernel': new Float32Array([1, -1, -2, 4]),
    'layers.2.bias': new Float32Array([0, 0]),
  });
  return m;
}

const one = (data: Float32Array) => ({ data, shape: [1, 3, 3, 1] as const });
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('featureMaps', () => {
  it("returns a layer's activations, fused ReLU included, by name or index", async () => {
    const m = await modelA();
    const conv = await featureMaps(m, one(X), 'conv');
    expect(conv.shape).toEqual([1, 3, 3, 2]);
    expect(conv.layer).toMatchObject({ index: 0, name: 'conv', kind: 'Conv2D' });
    // NHWC: (A0[p], A1[p]) per position.
    const a1 = [4.5, 3.5, 2.5, 1.5, 0.5, 0, 0, 0, 0];
    expectClose(conv.data, [...X].flatMap((x, p) => [x, a1[p]!]), 1e-6, 'conv');
    // Flatten moves no data: same values, flat shape.
    const flat = await featureMaps(m, one(X), 1);
    expect(flat.shape).toEqual([1, 1, 1, 18]);
    expectClose(flat.data, [...conv.data], 0, 'flatten');
    // The last layer's output is what predict returns (softmax included).
    const dense = await featureMaps(m, one(X), 'dense');
    expect(dense.shape).toEqual([1, 1, 1, 2]);
    expectClose(dense.data, [...(await m.predict(one(X)))], 0, 'dense');
  });

  it('handles a batch, one sample after another', async () => {
    const m = await modelB();
    const fm = await featureMaps(m, { data: new Float32Array([...X, ...X_REV]), shape: [2, 3, 3, 1] }, 'conv');
    expect(fm.shape).toEqual([2, 2, 2, 2]);
    // (A0, A1) per position, for x then x'.
    expectClose(fm.data, [3, 0, 4, 0, 6, 0.5, 7, 1.5, 7, 5.5, 6, 4.5, 4, 2.5, 3, 1.5], 1e-6, 'conv');
  });
});

describe('gradCam on hand-set weights', () => {
  it('conv → flatten → dense: α is the spatial mean of the dense kernel column', async () => {
    const m = await modelA();
    const r = await gradCam(m, one(X));
    expect(r.layer).toMatchObject({ index: 0, name: 'conv' }); // the last spatial layer
    expect(r.score).toBe('logit');
    expect(r.heatmapSize).toEqual([3, 3]);
    expect(r.size).toEqual([3, 3]);
    expect(r.maps).toHaveLength(1);
    const map = r.maps[0]!;
    expect(map.classIndex).toBe(0);
    expectClose(map.probabilities, [1, 0], 1e-6, 'probabilities');
    const expected0 = [0, 4.5, 9.5, 14.5, 19.5, 24, 28, 32, 36];
    expectClose(map.heatmap, expected0, 1e-6, 'heatmap class 0');
    // Same size: bilinear resizing is the identity.
    expectClose(map.upsampled, expected0, 1e-6, 'upsampled');
    expectClose(map.normalized, expected0.map((v) => v / 36), 1e-6, 'normalized');

    const r1 = await gradCam(m, one(X), { layer: 'conv', classIndex: 1 });
    expect(r1.maps[0]!.classIndex).toBe(1);
    expectClose(r1.maps[0]!.heatmap, [2.25, 1.75, 1.25, 0.75, 0.25, 0, 0, 0, 0], 1e-6, 'heatmap class 1');
  });

  it('conv → GAP → dense: Grad-CAM equals CAM, upsampled bilinearly, all-zero maps stay zero', async () => {
    const m = await modelB();
    const r = await gradCam(m, one(X), { layer: 0 });
    const map = r.maps[0]!;
    expect(r.heatmapSize).toEqual([2, 2]);
    expect(r.size).toEqual([3, 3]);
    expect(map.classIndex).toBe(0);
    expectClose(map.probabilities, [sigmoid(7), 1 - sigmoid(7)], 1e-6, 'probabilities');
    expectClose(map.heatmap, [0.75, 1, 1.25, 1], 1e-6, 'heatmap');
    const up = [0.75, 0.875, 1, 1, 1, 1, 1.25, 1.125, 1];
    expectClose(map.upsampled, up, 1e-6, 'upsampled');
    expectClose(map.normalized, up.map((v) => v / 1.25), 1e-6, 'normalized');

    const zero = (await gradCam(m, one(X), { classIndex: 1 })).maps[0]!;
    expectClose(zero.heatmap, [0, 0, 0, 0], 0, 'heatmap class 1');
    expectClose(zero.normalized, new Array(9).fill(0), 0, 'normalized class 1');
  });

  it('gives each sample of a batch its own map, for its own class', async () => {
    const m = await modelB();
    const batch = { data: new Float32Array([...X, ...X_REV]), shape: [2, 3, 3, 1] };
    const r = await gradCam(m, batch);
    expect(r.maps.map((mp) => mp.classIndex)).toEqual([0, 1]);
    expectClose(r.maps[0]!.heatmap, [0.75, 1, 1.25, 1], 1e-6, 'sample 0');
    expectClose(r.maps[1]!.heatmap, [3.75, 3, 1.5, 0.75], 1e-6, 'sample 1');
    expectClose(r.maps[1]!.probabilities, [1 - sigmoid(11), sigmoid(11)], 1e-6, 'sample 1 probabilities');
    // The same as one sample at a time.
    const alone = await gradCam(m, one(X_REV));
    expectClose(alone.maps[0]!.upsampled, [...r.maps[1]!.upsampled], 0, 'sample 1 alone');
    // A forced class applies to every sample: class 0 on x' gives relu(0.25·A0' − 0.5·A1') = 0.
    const forced = await gradCam(m, batch, { classIndex: 0 });
    expectClose(forced.maps[1]!.heatmap, [0, 0, 0, 0], 1e-6, 'sample 1, class 0');
  });

  it('runs in inference mode: BatchNorm with its moving statistics, Dropout off', async () => {
    // Model B with BatchNormalization and Dropout(0.5) after the convolution.
    // Moving mean (1, 0), variance (4, 1) (minus epsilon), gamma 1, beta 0:
    //   B0 = (A0 − 1)/2 = [[1, 1.5], [2.5, 3]], B1 = A1 = [[0, 0], [0.5, 1.5]].
    // GAP → (2, 0.5); z0 = 2 − 1 = 1, z1 = −2 + 2 = 0 → class 0, α = (0.25, −0.5):
    //   map = relu(0.25·B0 − 0.5·B1) = [[0.25, 0.375], [0.375, 0]].
    // Batch statistics (training mode) or a dropout mask would give other numbers.
    const m = new Sequential(
      [
        new Conv2D({ filters: 2, kernelSize: 2, activation: 'relu', inputShape: [3, 3, 1] }),
        new BatchNormalization({ name: 'bn' }),
        new Dropout({ rate: 0.5 }),
        new GlobalAveragePooling2D(),
        new Dense({ units: 2, activation: 'softmax' }),
      ],
      { name: 'tiny_bn' },
    );
    await m.build({ batchSize: 2 });
    const eps = 1e-3;
    m.setWeights({
      'layers.0.kernel': new Float32Array([0.25, 1, 0.25, 0, 0.25, 0, 0.25, 0]),
      'layers.0.bias': new Float32Array([0, -3.5]),
      'layers.1.gamma': new Float32Array([1, 1]),
      'layers.1.beta': new Float32Array([0, 0]),
      'layers.1.moving_mean': new Float32Array([1, 0]),
      'layers.1.moving_variance': new Float32Array([4 - eps, 1 - eps]),
      'layers.4.kernel': new Float32Array([1, -1, -2, 4]),
      'layers.4.bias': new Float32Array([0, 0]),
    });
    const r = await gradCam(m, one(X));
    expect(r.layer.name).toBe('dropout');
    expect(r.maps[0]!.classIndex).toBe(0);
    expectClose(r.maps[0]!.heatmap, [0.25, 0.375, 0.375, 0], 1e-6, 'heatmap');
    const bn = await gradCam(m, one(X), { layer: 'bn' });
    expectClose(bn.maps[0]!.heatmap, [...r.maps[0]!.heatmap], 0, 'at the BatchNormalization layer');
    expectClose((await featureMaps(m, one(X), 'bn')).data, [1, 0, 1.5, 0, 2.5, 0.5, 3, 1.5], 1e-6, 'bn feature maps');
  });

  it('rejects unknown layers, non-spatial layers, classes out of range and wrong input shapes', async () => {
    const m = await modelA();
    await expect(gradCam(m, one(X), { layer: 'nope' })).rejects.toThrow(ConfigError);
    await expect(gradCam(m, one(X), { layer: 'nope' })).rejects.toThrow(/model 'tiny_a' has no layer 'nope'.*conv \(0\) \[batch, 3, 3, 2\], flat \(1\) \[batch, 18\], dense \(2\) \[batch, 2\]/);
    await expect(featureMaps(m, one(X), 7)).rejects.toThrow(/has no layer index 7; expected a name or an index in 0\.\.2/);
    await expect(gradCam(m, one(X), { layer: 'dense' })).rejects.toThrow(ShapeError);
    await expect(gradCam(m, one(X), { layer: 'dense' })).rejects.toThrow(/Dense 'dense' \(layer 2\) outputs \[batch, 2\]; Grad-CAM needs a spatial output .*spatial layers: conv \(0\)/);
    await expect(gradCam(m, one(X), { layer: 1 })).rejects.toThrow(/Flatten 'flat' \(layer 1\) outputs \[batch, 18\]/);
    await expect(gradCam(m, one(X), { classIndex: 2 })).rejects.toThrow(ConfigError);
    await expect(gradCam(m, one(X), { classIndex: 2 })).rejects.toThrow(/classIndex must be an integer in \[0, 1\] .*got 2/);
    await expect(gradCam(m, one(X), { classIndex: -1 })).rejects.toThrow(/got -1/);
    await expect(gradCam(m, { data: new Float32Array(16), shape: [1, 4, 4, 1] })).rejects.toThrow(ShapeError);
    await expect(gradCam(m, { data: new Float32Array(16), shape: [1, 4, 4, 1] })).rejects.toThrow(/expected x of shape \[n, 3, 3, 1\], got \[1, 4, 4, 1\]/);
    await expect(featureMaps(m, { data: new Float32Array(8), shape: [1, 3, 3, 1] }, 'conv')).rejects.toThrow(/needs 9 values, x.data has 8/);
    const dense = new Sequential([new Dense({ units: 2, activation: 'softmax', inputShape: [4] })], { name: 'flat_only' });
    await expect(gradCam(dense, { data: new Float32Array(4), shape: [1, 4] })).rejects.toThrow(/model 'flat_only' has no layer with a spatial output/);
  });
});

describe('display helpers', () => {
  it('maps values through jet and viridis, clamping to [0, 1]', () => {
    const jet = heatmapToRgba([0, 0.5, 1, -3, 7, Number.NaN]);
    // matplotlib jet: 0 → (0, 0, 0.5), 0.5 → (0.4839, 1, 0.4839) → 123/255, 1 → (0.5, 0, 0).
    expect([...jet.subarray(0, 12)]).toEqual([0, 0, 128, 255, 123, 255, 123, 255, 128, 0, 0, 255]);
    expect([...jet.subarray(12, 16)]).toEqual([0, 0, 128, 255]);
    expect([...jet.subarray(16, 20)]).toEqual([128, 0, 0, 255]);
    expect([...jet.subarray(20, 24)]).toEqual([0, 0, 128, 255]);
    // matplotlib viridis: entries 0, 128 and 255 of its table.
    const vir = heatmapToRgba([0, 128 / 255, 1], { colormap: 'viridis' });
    expect([...vir]).toEqual([68, 1, 84, 255, 33, 145, 140, 255, 253, 231, 37, 255]);
    expect(() => heatmapToRgba([0], { colormap: 'hot' as 'jet' })).toThrow(/unknown colormap 'hot'/);
  });

  it('blends the colours over grey, RGB and RGBA images', () => {
    const map = [0, 1];
    // alpha 0.25 over RGB: 0.75·image + 0.25·jet(v).
    const rgb = overlay(new Uint8Array([100, 100, 100, 200, 0, 40]), map, 0.25);
    expect([...rgb]).toEqual([75, 75, 107, 255, 182, 0, 30, 255]);
    expect([...overlay(new Uint8Array([100, 200]), map, 0.25)]).toEqual([75, 75, 107, 255, 182, 150, 150, 255]);
    expect([...overlay(new Uint8ClampedArray([100, 100, 100, 9, 200, 0, 40, 9]), map, 1)]).toEqual([...heatmapToRgba(map)]);
    expect(() => overlay(new Uint8Array(5), map, 0.5)).toThrow(ShapeError);
    expect(() => overlay(new Uint8Array(6), map, 1.5)).toThrow(/alpha must be in \[0, 1\], got 1.5/);
    expectClose(normalizeMax([0, 2, 4]), [0, 0.5, 1], 0, 'normalizeMax');
    expectClose(normalizeMax([0, 0]), [0, 0], 0, 'normalizeMax of zeros');
  });
});

/**
 * A synthetic localization task. Every 16x16 image has a faint noisy
 * background and a distractor (a bright 1x5 bar) in a random quadrant; images
 * of class 1 also have a bright 3x3 square in another random quadrant. So the
 * class is decided by the square, the square's quadrant varies, and a map that
 * merely found bright pixels would be fooled by the bar half of the time.
 *
 * Why not "class = which quadrant": only a position-coding Flatten→Dense
 * head can solve that, and Grad-CAM's α_k (the spatial mean of the gradient,
 * i.e. of the dense kernel column) averages the position code away. Measured
 * with Conv→MaxPool→Conv→Flatten→Dense(4) trained with Adam to 100% train
 * accuracy (3 seeds): all 200 held-out maps were all zero — Adam moves every
 * weight by about lr per step, so the three quadrants voting against a class
 * outweigh the one voting for it in the mean, making α negative for the
 * channels that see the square. Grad-CAM explains evidence ("what here makes
 * this class"), which is what this task asks of it.
 */
function squares(n: number, seed: number): { x: Float32Array; y: Uint8Array; quadrant: Int8Array } {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const int = (k: number) => Math.floor(rand() * k);
  const x = new Float32Array(n * 256);
  const y = new Uint8Array(n);
  const quadrant = new Int8Array(n).fill(-1);
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
      quadrant[i] = q;
      const [qy, qx] = [(q >> 1) * 8 + 1 + int(5), (q & 1) * 8 + 1 + int(5)];
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) img[(qy + dy) * 16 + qx + dx] = 1;
    }
  }
  return { x, y, quadrant };
}

describe('gradCam on a trained network', () => {
  it('puts the peak in the quadrant of the square that decides the class', { timeout: 180_000 }, async () => {
    const m = new Sequential(
      [
        new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 16, 1] }),
        new MaxPooling2D({ poolSize: 2 }),
        new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
        new GlobalAveragePooling2D(),
        new Dense({ units: 2, activation: 'softmax' }),
      ],
      { name: 'squares', seed: 3 },
    );
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const train = squares(512, 1);
    const xTrain = { data: train.x, shape: [512, 16, 16, 1] };
    let accuracy = 0;
    for (let epoch = 0; epoch < 30 && accuracy < 0.97; epoch++) {
      await m.fit(xTrain, train.y, { epochs: 1, batchSize: 32 });
      accuracy = (await m.evaluate(xTrain, train.y)).accuracy!;
    }
    expect(accuracy).toBeGreaterThanOrEqual(0.95);

    const test = squares(200, 2);
    const positives = [...test.y.keys()].filter((i) => test.y[i] === 1);
    const xPos = new Float32Array(positives.length * 256);
    positives.forEach((i, j) => xPos.set(test.x.subarray(i * 256, (i + 1) * 256), j * 256));
    const r = await gradCam(m, { data: xPos, shape: [positives.length, 16, 16, 1] }, { classIndex: 1 });
    expect(r.layer.name).toBe('conv2d_1'); // the last spatial layer
    expect(r.heatmapSize).toEqual([8, 8]);
    let hits = 0;
    r.maps.forEach((map, j) => {
      const peak = map.upsampled.indexOf(Math.max(...map.upsampled));
      const q = (Math.floor(peak / 16) >= 8 ? 2 : 0) + (peak % 16 >= 8 ? 1 : 0);
      if (q === test.quadrant[positives[j]!]) hits++;
    });
    expect(hits / r.maps.length).toBeGreaterThanOrEqual(0.9);
  });
});
