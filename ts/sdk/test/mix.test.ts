/**
 * MixUp and CutMix of training batches: the mixed inputs and targets against
 * a reference computed here from the kernel's weights, the keying of the
 * draws (a repeated epoch mixes alike, another epoch differently), the
 * inputs written into engine memory or a plain array alike, and `fit({ mix })`:
 * reproducible, different from an unmixed fit, and refusing bad options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, ArrayDataset, ConfigError, Conv2D, DataError, Dense, Engine, Flatten, mixedBatches, Sequential, type DataBatch, type Dataset } from '@lite-cnn/sdk';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});
afterAll(async () => {
  await engine.shutdown();
});

const SHAPE = [5, 7, 3] as const;
const PER = 5 * 7 * 3;

/** `n` samples with distinct values and labels `i mod classes`. */
function dataset(n: number, classes: number): { data: ArrayDataset; x: Float32Array; y: Uint32Array } {
  const x = Float32Array.from({ length: n * PER }, (_, i) => Math.sin(i * 0.37) * 3);
  const y = Uint32Array.from({ length: n }, (_, i) => i % classes);
  return { data: new ArrayDataset(x, [...SHAPE], y, classes), x, y };
}

async function collect(data: Dataset, epoch: number, batchSize: number, into: 'engine' | 'array'): Promise<{ inputs: Float32Array[]; targets: Float32Array[] }> {
  const inputs: Float32Array[] = [];
  const targets: Float32Array[] = [];
  for await (const batch of data.batches({ batchSize, epoch }) as AsyncIterable<DataBatch>) {
    const len = batch.size * PER;
    if (into === 'engine') {
      const ptr = engine.memory.alloc(len * 4, 16);
      try {
        batch.fill(engine.memory.f32(ptr, len));
        inputs.push(engine.memory.f32(ptr, len).slice());
      } finally {
        engine.memory.free(ptr, len * 4, 16);
      }
    } else {
      const view = new Float32Array(len);
      batch.fill(view);
      inputs.push(view);
    }
    targets.push(batch.targets as Float32Array);
  }
  return { inputs, targets };
}

describe('mixedBatches', () => {
  it('MixUp: each sample blended with the one before it by its weight, targets alike', async () => {
    const classes = 3;
    const { data, x, y } = dataset(10, classes);
    const mixed = mixedBatches(data, { kind: 'mixup', alpha: 0.4, seed: 5, engine, targetWidth: classes });
    expect(mixed.denseTargets).toBe(true);
    const { inputs, targets } = await collect(mixed, 2, 4, 'engine');
    expect(inputs.map((b) => b.length / PER)).toEqual([4, 4, 2]);
    let start = 0;
    let strictlyMixed = 0;
    inputs.forEach((batch, b) => {
      const n = batch.length / PER;
      for (let i = 0; i < n; i++) {
        const p = (i + n - 1) % n;
        // The weight, read back from the target row (one-hot rows of distinct classes where the labels differ).
        const t = targets[b]!.subarray(i * classes, (i + 1) * classes);
        const own = y[start + i]!;
        const partner = y[start + p]!;
        const l = own === partner ? undefined : t[own]!;
        if (l === undefined) {
          expect(t[own]).toBe(1);
          continue;
        }
        expect(l).toBeGreaterThanOrEqual(0);
        expect(l).toBeLessThanOrEqual(1);
        expect(t[partner]).toBe(Math.fround(1 - l));
        if (l > 0.01 && l < 0.99) strictlyMixed++;
        const m = Math.fround(1 - l);
        for (let e = 0; e < PER; e++) {
          const want = Math.fround(Math.fround(x[(start + i) * PER + e]! * l) + Math.fround(x[(start + p) * PER + e]! * m));
          expect(batch[i * PER + e]).toBe(want);
        }
      }
      start += n;
    });
    expect(strictlyMixed).toBeGreaterThan(3);
  });

  it('CutMix: a box of the partner, the target weight the share of the own pixels', async () => {
    const classes = 2;
    const { data, x, y } = dataset(8, classes);
    const mixed = mixedBatches(data, { kind: 'cutmix', alpha: 1, seed: 9, engine, targetWidth: classes });
    const { inputs, targets } = await collect(mixed, 0, 8, 'engine');
    const batch = inputs[0]!;
    let boxes = 0;
    for (let i = 0; i < 8; i++) {
      const p = (i + 7) % 8;
      let own = 0;
      for (let px = 0; px < PER / 3; px++) {
        const fromOwn = [0, 1, 2].every((k) => batch[i * PER + px * 3 + k] === x[i * PER + px * 3 + k]);
        const fromPartner = [0, 1, 2].every((k) => batch[i * PER + px * 3 + k] === x[p * PER + px * 3 + k]);
        expect(fromOwn || fromPartner).toBe(true);
        if (fromOwn) own++;
      }
      const l = Math.fround(own / (PER / 3));
      boxes += own < PER / 3 ? 1 : 0;
      // Neighbours have different labels (i mod 2): the row is [λ, 1 - λ] in some order.
      expect(targets[0]![i * classes + y[i]!]).toBeCloseTo(l, 6);
      expect(targets[0]![i * classes + y[p]!]).toBeCloseTo(1 - l, 6);
    }
    expect(boxes).toBeGreaterThan(2);
  });

  it('keys the draws by seed, epoch and position: a repeated epoch mixes alike, into engine memory or an array', async () => {
    const { data } = dataset(9, 3);
    const mixed = mixedBatches(data, { kind: 'mixup', alpha: 0.2, seed: 1, engine, targetWidth: 3 });
    const a = await collect(mixed, 4, 4, 'engine');
    const b = await collect(mixed, 4, 4, 'array');
    expect(b.inputs).toEqual(a.inputs);
    expect(b.targets).toEqual(a.targets);
    const other = await collect(mixed, 5, 4, 'engine');
    expect(other.targets).not.toEqual(a.targets);
    const reseeded = await collect(mixedBatches(data, { kind: 'mixup', alpha: 0.2, seed: 2, engine, targetWidth: 3 }), 4, 4, 'engine');
    expect(reseeded.targets).not.toEqual(a.targets);
  });

  it('mixes the labels of a single sigmoid output as values, and refuses what it cannot mix', async () => {
    const { data } = dataset(6, 2);
    const { targets } = await collect(mixedBatches(data, { kind: 'mixup', alpha: 1, seed: 3, engine, targetWidth: 1 }), 0, 6, 'array');
    expect(targets[0]!.length).toBe(6);
    // Alternating labels: sample i's target is λ_i (label 1) or 1 - λ_i (label 0); all in [0, 1].
    expect([...targets[0]!].every((t) => t >= 0 && t <= 1)).toBe(true);

    const batch = (await (mixedBatches(data, { kind: 'mixup', alpha: 1, seed: 3, engine, targetWidth: 2 }).batches({ batchSize: 2 }) as AsyncIterable<DataBatch>)[Symbol.asyncIterator]().next()).value as DataBatch;
    expect(() => batch.targets).toThrow(DataError);
    expect(() => batch.targets).toThrow('a mixed batch has targets only once it is mixed');
    const three = dataset(6, 3).data;
    const wide = (await (mixedBatches(three, { kind: 'mixup', alpha: 1, seed: 3, engine, targetWidth: 2 }).batches({ batchSize: 6 }) as AsyncIterable<DataBatch>)[Symbol.asyncIterator]().next()).value as DataBatch;
    wide.fill(new Float32Array(6 * PER));
    expect(() => wide.targets).toThrow("label 2 at sample 2 is not below the model's 2 outputs");
    expect(() => mixedBatches(data, { kind: 'blend' as 'mixup', alpha: 1, seed: 3, engine, targetWidth: 2 })).toThrow('mix.kind must be one of mixup, cutmix, got blend');
  });
});

describe('fit({ mix })', () => {
  function model(): Sequential {
    const m = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [...SHAPE] }), new Flatten(), new Dense({ units: 3, activation: 'softmax' })], { seed: 4, engine });
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    return m;
  }
  const { x, y } = dataset(24, 3);
  const xs = { data: x, shape: [24, ...SHAPE] };

  it('trains reproducibly, differently from an unmixed fit, and validates on unmixed data', async () => {
    const fit = async (mix?: { kind: 'mixup' | 'cutmix'; alpha: number }) => {
      const m = model();
      const h = await m.fit(xs, [...y], { epochs: 3, batchSize: 8, validationData: [xs, [...y]], ...(mix ? { mix } : {}) });
      const w = [...m.getWeights().values()].map((t) => Array.from(t));
      m.dispose();
      return { h, w };
    };
    const plain = await fit();
    for (const kind of ['mixup', 'cutmix'] as const) {
      const a = await fit({ kind, alpha: 0.4 });
      const b = await fit({ kind, alpha: 0.4 });
      expect(b.w).toEqual(a.w);
      expect(a.w).not.toEqual(plain.w);
      expect(a.h.history.loss!.every(Number.isFinite)).toBe(true);
      // The validation data is the same unmixed data: its loss is a plain cross-entropy.
      expect(a.h.history.val_loss!.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    }
  });

  it('refuses a bad mix option before training', async () => {
    const m = model();
    await expect(m.fit(xs, [...y], { mix: { kind: 'mixup', alpha: 0 } })).rejects.toThrow(ConfigError);
    await expect(m.fit(xs, [...y], { mix: { kind: 'mixup', alpha: 0 } })).rejects.toThrow('fit: mix.alpha must be a finite number > 0, got 0');
    await expect(m.fit(xs, [...y], { mix: { kind: 'swap' as 'cutmix', alpha: 1 } })).rejects.toThrow('fit: mix.kind must be one of mixup, cutmix, got swap');
    expect(m.step).toBe(0);
    m.dispose();
  });
});
