import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Adam, decodeSafetensors, Dropout, encodeSafetensors, ModelFormatError, Sequential } from '@lite-cnn/sdk';
import { breakhisNet, mnistNet } from './nets.js';

function images(n: number, size: number, seed: number): Float32Array {
  const x = new Float32Array(n * size);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  return x;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function trainedMnist(): Promise<{ model: Sequential; x: { data: Float32Array; shape: number[] }; y: number[] }> {
  const model = mnistNet({ seed: 3 });
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
  const x = { data: images(64, 784, 1), shape: [64, 28, 28, 1] };
  const y = Array.from({ length: 64 }, (_, i) => (i * 7) % 10);
  await model.fit(x, y, { epochs: 1, batchSize: 16 });
  return { model, x, y };
}

describe('model files (.safetensors)', () => {
  it('save -> load -> predict is bit-identical, with metadata and the compile configuration', async () => {
    const { model, x } = await trainedMnist();
    model.metadata = { classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], preprocessing: { kind: 'minmax' }, threshold: null };
    const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-model-'));
    const path = join(dir, 'model.safetensors');
    await model.save(path);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const loaded = await Sequential.load(path);
    expect(bits(await loaded.predict(x)).equals(bits(await model.predict(x)))).toBe(true);
    expect(loaded.metadata).toEqual(model.metadata);
    expect(loaded.optimizer.getConfig()).toEqual(model.optimizer.getConfig());
    expect(loaded.summary(null)).toBe(model.summary(null));
    // Readable as plain safetensors: names and metadata.
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
    expect([...file.tensors.keys()]).toEqual(['layers.0.kernel', 'layers.0.bias', 'layers.1.kernel', 'layers.1.bias', 'layers.3.kernel', 'layers.3.bias']);
    expect(file.metadata.format).toBe('lite-cnn');
    expect(file.metadata.format_version).toBe('2');
    expect(JSON.parse(file.metadata.topology!).layers[0].kind).toBe('Conv2D');
  });

  it('keeps BatchNorm moving statistics and a BreakHis-sized model under 1.3 MB', async () => {
    const model = breakhisNet({ seed: 1 });
    await model.build({ batchSize: 2 });
    const w = model.getWeights();
    w.get('layers.1.moving_mean')!.fill(0.25);
    model.setWeights(w);
    const bytes = model.toBytes();
    expect(bytes.length).toBeLessThan(1.3e6);
    const loaded = await Sequential.fromBytes(bytes);
    expect(loaded.getWeights().get('layers.1.moving_mean')!.every((v) => v === 0.25)).toBe(true);
    expect(loaded.countParams().trainable).toBe(319_106);
  });

  it('resumes training from a file with optimizer state, ending bit-identical to an uninterrupted run', async () => {
    const make = () => {
      const m = mnistNet({ seed: 9 });
      m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const x = { data: images(96, 784, 2), shape: [96, 28, 28, 1] };
    const y = Array.from({ length: 96 }, (_, i) => i % 10);
    const straight = make();
    await straight.fit(x, y, { epochs: 2, batchSize: 16 });
    const first = make();
    await first.fit(x, y, { epochs: 1, batchSize: 16 });
    const resumed = await Sequential.fromBytes(first.toBytes({ includeOptimizer: true }));
    expect(resumed.step).toBe(6);
    await resumed.fit(x, y, { epochs: 2, initialEpoch: 1, batchSize: 16 });
    for (const [name, v] of straight.getWeights()) expect(bits(resumed.getWeights().get(name)!).equals(bits(v)), name).toBe(true);
  });

  it('restores dropout models and their seed', async () => {
    const m = new Sequential([...mnistNet().layers.slice(0, 3).map((l) => l), new Dropout({ rate: 0.5 }), ...mnistNet().layers.slice(3)], { seed: 4 });
    await m.build();
    const loaded = await Sequential.fromBytes(m.toBytes());
    expect(loaded.seed).toBe(4);
    expect(loaded.layers.map((l) => l.kind)).toEqual(['Conv2D', 'Conv2D', 'Flatten', 'Dropout', 'Dense']);
  });

  describe('rejects bad files with a ModelFormatError naming the problem', () => {
    const reject = async (bytes: Uint8Array, pattern: RegExp) => {
      const p = Sequential.fromBytes(bytes);
      await expect(p).rejects.toThrow(ModelFormatError);
      await expect(p).rejects.toThrow(pattern);
    };
    let good: Uint8Array;
    let meta: Record<string, string>;
    let tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[];

    it('prepares a valid file', async () => {
      const m = mnistNet({ seed: 1 });
      await m.build();
      good = m.toBytes();
      const f = decodeSafetensors(good);
      meta = f.metadata;
      tensors = [...f.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data as Float32Array }));
    });

    it('truncated and oversized-header files', async () => {
      await reject(good.subarray(0, good.length - 10), /.+/);
      await reject(good.subarray(0, 5), /shorter than 8 bytes|8 bytes/);
      const huge = new Uint8Array(good);
      new DataView(huge.buffer).setBigUint64(0, 1n << 60n, true);
      await reject(huge, /header/);
    });

    it('wrong dtype, shape mismatch, missing and extra tensors', async () => {
      const swap = (i: number, t: (typeof tensors)[number] | object) => encodeSafetensors(tensors.map((x, j) => (j === i ? t : x)) as never, meta);
      await reject(swap(0, { name: 'layers.0.kernel', dtype: 'I32', shape: tensors[0]!.shape, data: new Int32Array(tensors[0]!.data.length) }), /'layers.0.kernel' has dtype I32, expected F32/);
      await reject(swap(0, { ...tensors[0]!, shape: [3, 3, 8, 1], data: tensors[0]!.data }), /'layers.0.kernel' has shape \[3, 3, 8, 1\], the topology needs \[3, 3, 1, 8\]/);
      await reject(encodeSafetensors(tensors.slice(1), meta), /missing tensor 'layers.0.kernel'/);
      await reject(encodeSafetensors([...tensors, { name: 'layers.9.kernel', dtype: 'F32', shape: [1], data: new Float32Array(1) }], meta), /tensors not in the topology: layers.9.kernel/);
    });

    it('unknown versions, foreign files and invalid topologies', async () => {
      await reject(encodeSafetensors(tensors, { ...meta, format_version: '3' }), /unknown model format version '3'; this lite-cnn reads versions 1 and 2/);
      // Version 1 (Sequential chains, before graphs) still loads.
      const v1 = JSON.parse(meta.topology!);
      delete v1.inbound;
      delete v1.inputShape;
      delete v1.trainable;
      expect((await Sequential.fromBytes(encodeSafetensors(tensors, { ...meta, format_version: '1', topology: JSON.stringify(v1) }))).layers.length).toBe(v1.layers.length);
      await reject(encodeSafetensors(tensors, { ...meta, format: 'keras' }), /not a lite-cnn model \(format 'keras'/);
      await reject(encodeSafetensors(tensors, { ...meta, topology: '{"layers": [' }), /__metadata__ topology is not valid JSON/);
      const topo = JSON.parse(meta.topology!);
      topo.layers[0].filters = -1;
      await reject(encodeSafetensors(tensors, { ...meta, topology: JSON.stringify(topo) }), /layer 0: .*filters must be a positive integer, got -1/);
      topo.layers[0].filters = 8;
      topo.layers[0].kind = 'Lambda';
      await reject(encodeSafetensors(tensors, { ...meta, topology: JSON.stringify(topo) }), /layer 0: unknown layer kind 'Lambda'/);
      // A topology asking for a gigantic layer is rejected from the tensor shapes, before anything is allocated.
      const big = JSON.parse(meta.topology!);
      big.layers[3].units = 1_000_000_000;
      await reject(encodeSafetensors(tensors, { ...meta, topology: JSON.stringify(big) }), /the topology needs \[288, 1000000000\]/);
    });
  });

  const PYTHON = '/usr/bin/python3';
  const noNumpy = !existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import numpy']).status !== 0;
  if (noNumpy) console.warn('model-file python check skipped: /usr/bin/python3 with NumPy not available');
  it.skipIf(noNumpy)('opens with NumPy through the safetensors layout (committed reader script)', async () => {
    const { model } = await trainedMnist();
    const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-py-'));
    const path = join(dir, 'm.safetensors');
    writeFileSync(path, model.toBytes());
    const script = fileURLToPath(new URL('./read_safetensors.py', import.meta.url));
    const r = spawnSync(PYTHON, [script, path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: { name: string; shape: number[]; sum: number }[] };
    expect(out.metadata.format).toBe('lite-cnn');
    const w = model.getWeights();
    for (const t of out.tensors) {
      const ours = w.get(t.name)!;
      expect(t.sum).toBeCloseTo(ours.reduce((s, v) => s + v, 0), 3);
    }
    expect(out.tensors.map((t) => t.shape)).toEqual([[3, 3, 1, 8], [8], [3, 3, 8, 8], [8], [288, 10], [10]]);
  });
});
