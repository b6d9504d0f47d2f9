/**
 * The functional API (input / apply / Model), graph layers (Add,
 * Concatenate, DepthwiseConv2D, ZeroPadding2D, ReLU6), freezing, graph model
 * files, and the executor ABI mirror.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, Add, Concatenate, ConfigError, Conv2D, Dense, DepthwiseConv2D, EXECUTOR_ABI, Engine, featureMaps, Flatten, gradCam, input, Model, ReLU, Sequential, ShapeError } from '@lite-cnn/sdk';
import { graphNet } from './graph-net.js';

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'lite-cnn-functional-'));
});
afterAll(async () => {
  await engine.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function smallGraph(seed = 1): Model {
  return graphNet({ seed, engine });
}

/** Class = which third of the image is bright. */
function thirds(n: number, seed: number): { x: Float32Array; y: Uint32Array } {
  const x = new Float32Array(n * 12 * 12 * 3);
  const y = new Uint32Array(n);
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rnd() * 3);
    y[i] = label;
    for (let r = 0; r < 12; r++) {
      for (let c = 0; c < 12; c++) {
        for (let ch = 0; ch < 3; ch++) {
          x[((i * 12 + r) * 12 + c) * 3 + ch] = 0.2 * rnd() + (Math.floor(c / 4) === label ? 1 : 0);
        }
      }
    }
  }
  return { x, y };
}

describe('functional API', () => {
  it('builds a graph in topological order with shapes, names and parameter counts', () => {
    const m = smallGraph();
    expect(m.layers.map((l) => l.kind)).toEqual([
      'Conv2D', 'BatchNormalization', 'ReLU', 'Conv2D', 'Add', 'ReLU', 'DepthwiseConv2D', 'ReLU', 'ZeroPadding2D', 'MaxPooling2D', 'Concatenate', 'GlobalAveragePooling2D', 'Dense',
    ]);
    expect(m.layers.map((l) => l.name).slice(0, 5)).toEqual(['conv2d', 'batch_normalization', 're_lu', 'conv2d_1', 'add']);
    expect(m.getLayer('depthwise_conv2d').kind).toBe('DepthwiseConv2D');
    const shapes = m.plan().shapes;
    expect(shapes[6]).toEqual([6, 6, 16]); // depthwise s2 pad 1, multiplier 2
    expect(shapes[9]).toEqual([6, 6, 8]); // zero pad to 13x13, max pool 3/2 in ceil mode
    expect(shapes[10]).toEqual([6, 6, 24]);
    // conv 3*3*3*8 (no bias) + BN 2*8 (+ 2*8 moving) + conv 3*3*8*8+8 + depthwise 3*3*8*2+16 + dense 24*3+3
    const trainable = 216 + 16 + 584 + 160 + 75;
    expect(m.countParams()).toEqual({ trainable, nonTrainable: 16, total: trainable + 16 });
    expect(m.summary(null)).toMatch(/add \(Add\)\s+\[None, 12, 12, 8\]\s+0/);
  });

  it('trains, predicts, and saves and loads bit-identically', async () => {
    const m = smallGraph(3);
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const train = thirds(96, 5);
    const h = await m.fit({ data: train.x, shape: [96, 12, 12, 3] }, train.y, { epochs: 8, batchSize: 16 });
    const loss = h.history.loss!;
    expect(loss.at(-1)!).toBeLessThan(loss[0]! * 0.5);
    const test = thirds(48, 9);
    const r = await m.evaluate({ data: test.x, shape: [48, 12, 12, 3] }, test.y);
    expect(r.accuracy).toBeGreaterThan(0.9);
    const probs = await m.predict({ data: test.x, shape: [48, 12, 12, 3] });
    const file = join(dir, 'graph.safetensors');
    await m.save(file);
    const again = await Model.load(file, { engine });
    expect(again.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
    expect(Buffer.from((await again.predict({ data: test.x, shape: [48, 12, 12, 3] })).buffer)).toEqual(Buffer.from(probs.buffer));
    await expect(Sequential.load(file, { engine })).rejects.toThrow(/a functional model, not a chain of layers/);
  });

  it('loads Sequential files as Models, with the same predictions', async () => {
    const s = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu' }), new Flatten(), new Dense({ units: 2, activation: 'softmax' })], { seed: 4, engine });
    expect(s).toBeInstanceOf(Model);
    const x = new Float32Array(3 * 64).map((_, i) => Math.sin(i));
    const p = await s.predict({ data: x, shape: [3, 8, 8, 1] });
    const file = join(dir, 'chain.safetensors');
    await s.save(file);
    const m = await Model.load(file, { engine });
    expect(m.layers.map((l) => l.kind)).toEqual(['Conv2D', 'Flatten', 'Dense']);
    expect(Buffer.from((await m.predict({ data: x, shape: [3, 8, 8, 1] })).buffer)).toEqual(Buffer.from(p.buffer));
  });

  it('freezes layers with Keras semantics: no update, inference-mode BatchNorm, counts and summary', async () => {
    const m = smallGraph(7);
    for (const name of ['conv2d', 'batch_normalization', 'conv2d_1']) m.getLayer(name).trainable = false;
    expect(m.countParams()).toEqual({ trainable: 160 + 75, nonTrainable: 216 + 32 + 584, total: 216 + 32 + 584 + 235 });
    expect(m.summary(null)).toMatch(/Non-trainable params: 832/);
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.build();
    const before = m.getWeights();
    const train = thirds(32, 11);
    await m.fit({ data: train.x, shape: [32, 12, 12, 3] }, train.y, { epochs: 2, batchSize: 16 });
    const after = m.getWeights();
    for (const [name, w] of before) {
      const frozen = /^layers\.[0-3]\./.test(name);
      const same = Buffer.from(w.buffer).equals(Buffer.from(after.get(name)!.buffer));
      expect(same, `${name} ${frozen ? 'frozen' : 'trainable'}`).toBe(frozen);
    }
    // Unfreezing takes effect at the next compile (Keras).
    m.getLayer('conv2d').trainable = true;
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit({ data: train.x, shape: [32, 12, 12, 3] }, train.y, { epochs: 1, batchSize: 16 });
    expect(Buffer.from(m.getWeights().get('layers.0.kernel')!.buffer).equals(Buffer.from(after.get('layers.0.kernel')!.buffer))).toBe(false);
    // Trainable flags travel with the file.
    const file = join(dir, 'frozen.safetensors');
    await m.save(file);
    const again = await Model.load(file, { engine });
    expect(again.layers.map((l) => l.trainable).slice(0, 4)).toEqual([true, false, true, false]);
  });

  it('explains graph models by layer name: feature maps and Grad-CAM through a residual block', async () => {
    const m = smallGraph(5);
    const { x } = thirds(2, 13);
    const fm = await featureMaps(m, { data: x, shape: [2, 12, 12, 3] }, 'add');
    expect(fm.shape).toEqual([2, 12, 12, 8]);
    // The Add layer's output is the sum of its inputs' outputs, read from the same pass.
    const a = await featureMaps(m, { data: x, shape: [2, 12, 12, 3] }, 'conv2d_1');
    const b = await featureMaps(m, { data: x, shape: [2, 12, 12, 3] }, 're_lu');
    for (const i of [0, 17, 1151]) expect(fm.data[i]).toBeCloseTo(a.data[i]! + b.data[i]!, 5);
    const cam = await gradCam(m, { data: x, shape: [2, 12, 12, 3] }, { layer: 're_lu_1' });
    expect(cam.maps).toHaveLength(2);
    expect(cam.maps[0]!.heatmap.length).toBe(12 * 12);
    expect(cam.maps.every((map) => map.heatmap.every(Number.isFinite))).toBe(true);
  });

  it('rejects malformed graphs with typed errors naming the layer', () => {
    const x = input({ shape: [8, 8, 2] });
    const a = new Conv2D({ filters: 4, kernelSize: 3, name: 'a' }).apply(x);
    expect(() => new Add({ name: 'sum' }).apply([a, x])).toThrow(ShapeError);
    expect(() => new Add({ name: 'sum' }).apply([a, x])).toThrow(/Add 'sum': expected inputs of one shape, got \[batch, 6, 6, 4\], \[batch, 8, 8, 2\]/);
    expect(() => new Concatenate().apply([a, x])).toThrow(/one height and width/);
    expect(() => new Add().apply(a)).toThrow(/takes at least 2 inputs, got 1/);
    const conv = new Conv2D({ filters: 2, kernelSize: 1 });
    conv.apply(x);
    expect(() => conv.apply(x)).toThrow(ConfigError);
    expect(() => conv.apply(x)).toThrow(/already applied/);
    const y = input({ shape: [8, 8, 2] });
    const b = new Add().apply([new Conv2D({ filters: 2, kernelSize: 1 }).apply(x), y]);
    expect(() => new Model({ inputs: x, outputs: b })).toThrow(/depends on input 'input', which is not the model's input/);
    expect(() => new Model({ inputs: [x, y], outputs: b })).toThrow(/one input and one output/);
    expect(() => new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 0 })).toThrow(/depthMultiplier must be a positive integer, got 0/);
    expect(() => new ReLU({ maxValue: -1 })).toThrow(/maxValue must be a finite number > 0, got -1/);
    expect(() => new Conv2D({ filters: 2, kernelSize: 3, padding: -1 as unknown as 0 })).toThrow(/padding must be 'valid' or 'same', got -1 \(explicit pads are also accepted/);
  });
});

describe('executor ABI', () => {
  it('the TypeScript mirror equals the executor’s own description, field by field and value by value', () => {
    const heap = engine.memory;
    const lenPtr = heap.alloc(4, 4);
    try {
      const ptr = engine.raw.lc_abi_describe(lenPtr);
      const len = heap.u32(lenPtr, 1)[0]!;
      const abi = JSON.parse(new TextDecoder().decode(new Uint8Array(heap.memory.buffer, ptr, len).slice())) as {
        structs: Record<string, { size: number; fields: [string, number, string][] }>;
        codes: Record<string, Record<string, number>>;
      };
      const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      expect(Object.keys(EXECUTOR_ABI.structs).sort()).toEqual(Object.keys(abi.structs).sort());
      for (const [name, def] of Object.entries(EXECUTOR_ABI.structs)) {
        const rust = abi.structs[name]!;
        expect(def.length * 4, `${name} size`).toBe(rust.size);
        expect(def.map(([f, t], i) => [f, i * 4, t]), name).toEqual(rust.fields.map(([f, o, t]) => [camel(f), o, t]));
      }
      expect(EXECUTOR_ABI.codes).toEqual(abi.codes);
    } finally {
      heap.free(lenPtr, 4, 4);
    }
  });
});
