/**
 * fit's prefetch: the next batch's augmentation runs in the same engine call
 * as the current training step. It must change nothing but the timing:
 * weights, optimizer state and history bit-identical to the plain loop, the
 * data source closed and the second input buffer freed however fit ends.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BatchNormalization,
  Callback,
  Conv2D,
  ConfigError,
  Dense,
  Dropout,
  Engine,
  Flatten,
  ImageDataset,
  MaxPooling2D,
  ReLU,
  Sequential,
  WasmImageTransformer,
  mixedBatches,
  studyAugmentation,
  type Dataset,
  type DataBatch,
  type FitArgs,
  type History,
  type Logs,
} from '@lite-cnn/sdk';

const SHAPE: [number, number, number] = [20, 18, 3];
const N = 23; // batches of 5: 5, 5, 5, 5, 3
const BATCH = 5;
const AUGMENTATION = { ...studyAugmentation, verticalFlip: true, brightness: 0.2, hue: 0.05, stainScale: 0.1, stainShift: 0.02 };

let engine: Engine;

beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});

afterAll(async () => {
  await engine?.shutdown();
});

/** `n` images of seeded noise with a class-dependent tint, labels alternating. */
function images(n: number): { images: Uint8Array; labels: number[] } {
  const per = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const out = new Uint8Array(n * per);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const tint = ((i / per) | 0) % 2 === 1 && i % 3 === 0 ? 60 : 0;
    out[i] = Math.min(255, (s >>> 24) + tint);
  }
  return { images: out, labels: Array.from({ length: n }, (_, i) => i % 2) };
}

function dataset(): ImageDataset {
  const transformer = new WasmImageTransformer(engine, { preprocessing: { kind: 'minmax' }, augmentation: AUGMENTATION, seed: 9 });
  return new ImageDataset({ ...images(N), shape: SHAPE, transformer, augment: true, engine, classNames: ['a', 'b'] });
}

function net(): Sequential {
  const model = new Sequential(
    [
      new Conv2D({ filters: 6, kernelSize: 3, inputShape: SHAPE }),
      new BatchNormalization(),
      new ReLU(),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dropout({ rate: 0.25 }),
      new Dense({ units: 2, activation: 'softmax' }),
    ],
    { engine, seed: 3 },
  );
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Counts the engine's training calls of each kind during `fn`. */
async function countingSteps<T>(fn: () => Promise<T>): Promise<{ result: T; plain: number; prefetched: number }> {
  const plain = vi.spyOn(engine.raw, 'lc_model_train_step');
  const prefetched = vi.spyOn(engine.raw, 'lc_model_train_step_prefetch');
  try {
    const result = await fn();
    return { result, plain: plain.mock.calls.length, prefetched: prefetched.mock.calls.length };
  } finally {
    plain.mockRestore();
    prefetched.mockRestore();
  }
}

/**
 * Tracks the engine's allocations of `bytes` bytes made from the start of
 * training (`tracking`, a callback: the executor's own input block, planned
 * before, may have the same size) that were not freed.
 */
function liveAllocations(bytes: number): { tracking: Callback; live: () => number; pause: () => void; restore: () => void } {
  const live = new Set<number>();
  let on = false;
  const alloc = engine.memory.alloc.bind(engine.memory);
  const free = engine.memory.free.bind(engine.memory);
  const a = vi.spyOn(engine.memory, 'alloc').mockImplementation((size: number, align?: number) => {
    const p = alloc(size, align);
    if (on && size === bytes) live.add(p);
    return p;
  });
  const f = vi.spyOn(engine.memory, 'free').mockImplementation((ptr: number, size: number, align?: number) => {
    if (size === bytes) live.delete(ptr);
    free(ptr, size, align);
  });
  class Tracking extends Callback {
    override onTrainBegin(): void {
      on = true;
    }
  }
  return {
    tracking: new Tracking(),
    live: () => live.size,
    pause: () => {
      on = false;
    },
    restore: () => {
      a.mockRestore();
      f.mockRestore();
    },
  };
}

const BUFFER_BYTES = BATCH * SHAPE[0] * SHAPE[1] * SHAPE[2] * 4;

async function train(prefetch: boolean, extra: FitArgs = {}): Promise<{ model: Sequential; history: History; plain: number; prefetched: number }> {
  const model = net();
  const data = dataset();
  const validationData = data.subset([0, 3, 4, 7], { augment: false });
  const { result, plain, prefetched } = await countingSteps(() => model.fit(data, { epochs: 2, batchSize: BATCH, validationData, prefetch, ...extra }));
  return { model, history: result, plain, prefetched };
}

function expectSameTraining(a: { model: Sequential; history: History }, b: { model: Sequential; history: History }): void {
  const wa = a.model.getWeights();
  const wb = b.model.getWeights();
  expect([...wb.keys()]).toEqual([...wa.keys()]);
  for (const [name, v] of wa) expect(wb.get(name), name).toEqual(v);
  const oa = a.model.optimizerState();
  const ob = b.model.optimizerState();
  expect(ob.slot1).toEqual(oa.slot1);
  expect(ob.slot2).toEqual(oa.slot2);
  expect(b.history.history).toEqual(a.history.history);
  expect(b.history.steps).toEqual(a.history.steps);
}

/** Runs `f` at the end of batch `at` of the first epoch. */
class AtBatch extends Callback {
  constructor(
    private readonly at: number,
    private readonly f: (model: Sequential) => Promise<void> | void,
  ) {
    super();
  }
  override async onBatchEnd(batch: number, _logs: Logs): Promise<void> {
    if (batch === this.at && this.model) await this.f(this.model as Sequential);
  }
}

/** A dataset that records whether each epoch's batch iteration was finished or closed. */
function closingDataset(inner: ImageDataset): { data: Dataset; closed: () => number } {
  let closed = 0;
  const data: Dataset = {
    size: inner.size,
    sampleShape: inner.sampleShape,
    denseTargets: false,
    labels: () => inner.labels(),
    async *batches(opts) {
      try {
        yield* inner.batches(opts) as AsyncIterable<DataBatch>;
      } finally {
        closed++;
      }
    },
  };
  return { data, closed: () => closed };
}

describe('fit prefetch', () => {
  it('trains bit-identically to the plain loop (augmentation, BN, dropout, a partial last batch, validation, evaluateEvery)', async () => {
    const plain = await train(false, { evaluateEvery: 3 });
    const overlapped = await train(true, { evaluateEvery: 3 });
    expect(plain.prefetched).toBe(0);
    expect(plain.plain).toBe(10);
    // Every step but the last of an epoch prepares the next batch, except before an evaluation (steps 3, 6, 9).
    expect(overlapped.prefetched).toBe(10 - 2 - 3);
    expect(overlapped.plain).toBe(5);
    expect(overlapped.history.steps.length).toBe(3);
    expectSameTraining(plain, overlapped);
  });

  it('with MixUp or CutMix: the staged transform also mixes, bit-identical to mixing after fill', async () => {
    for (const kind of ['mixup', 'cutmix'] as const) {
      const mix = { kind, alpha: 0.5 };
      const plain = await train(false, { evaluateEvery: 3, mix });
      const overlapped = await train(true, { evaluateEvery: 3, mix });
      expect(overlapped.prefetched).toBe(10 - 2 - 3);
      expectSameTraining(plain, overlapped);
      const unmixed = await train(true, { evaluateEvery: 3 });
      const firstKernel = (m: Sequential) => [...m.getWeights().values()][0];
      expect(firstKernel(overlapped.model)).not.toEqual(firstKernel(unmixed.model));
      for (const r of [plain, overlapped, unmixed]) r.model.dispose();
    }
  });

  it('is on by default with 2 threads, and a callback that uses the model between steps changes nothing', async () => {
    const probe = dataset().subset([1, 2], { augment: false });
    // predict() overwrites the model's input view, where a prefetched batch may be waiting.
    const predicting = () => [0, 1, 2, 3].map((at) => new AtBatch(at, async (m) => void (await m.predict(probe))));
    const plain = await train(false, { callbacks: predicting() });
    const byDefault = await countingSteps(async () => {
      const model = net();
      const data = dataset();
      const history = await model.fit(data, { epochs: 2, batchSize: BATCH, validationData: data.subset([0, 3, 4, 7], { augment: false }), callbacks: predicting() });
      return { model, history };
    });
    expect(byDefault.prefetched).toBe(8);
    expectSameTraining(plain, byDefault.result);
  });

  it('a callback that re-plans the model between steps changes nothing (a re-plan moves the input view)', async () => {
    // build({ batchSize }) re-plans in place without taking the input view: a batch prepared there is gone.
    const replanning = () => [0, 1, 2, 3].map((at) => new AtBatch(at, async (m) => void (await m.build({ batchSize: BATCH + 1 + at }))));
    const plain = await train(false, { callbacks: replanning() });
    const overlapped = await train(true, { callbacks: replanning() });
    expectSameTraining(plain, overlapped);
  });

  it('closes the data source and frees its buffer when a callback stops training mid-epoch', async () => {
    const mem = liveAllocations(BUFFER_BYTES);
    try {
      const model = net();
      const { data, closed } = closingDataset(dataset());
      const stop = new AtBatch(1, (m) => void (m.stopTraining = true));
      const { result, prefetched } = await countingSteps(() => model.fit(data, { epochs: 3, batchSize: BATCH, prefetch: true, callbacks: [mem.tracking, stop] }));
      expect(prefetched).toBe(2);
      expect(result.epoch).toEqual([0]);
      expect(model.step).toBe(2);
      expect(closed()).toBe(1);
      expect(mem.live()).toBe(0);
    } finally {
      mem.restore();
    }
  });

  it('closes the data source and frees its buffer when a step fails or a callback throws', async () => {
    const mem = liveAllocations(BUFFER_BYTES);
    try {
      const model = net();
      const { data, closed } = closingDataset(dataset());
      const boom = new AtBatch(2, () => {
        throw new Error('callback failed');
      });
      await expect(model.fit(data, { epochs: 2, batchSize: BATCH, prefetch: true, callbacks: [mem.tracking, boom] })).rejects.toThrow('callback failed');
      expect(closed()).toBe(1);
      expect(mem.live()).toBe(0);
      mem.pause();

      // A learning rate that overflows the weights: fit's error, after a prefetching step.
      const wild = net();
      wild.optimizer.learningRate = 1e38;
      const again = closingDataset(dataset());
      await expect(wild.fit(again.data, { epochs: 1, batchSize: BATCH, prefetch: true, callbacks: [mem.tracking] })).rejects.toThrow(/the loss became/);
      expect(again.closed()).toBe(1);
      expect(mem.live()).toBe(0);
    } finally {
      mem.restore();
    }
  });

  it('is off by default on one thread and for datasets that cannot stage; rejects a non-boolean', async () => {
    const single = await Engine.create({ threads: 1 });
    try {
      const model = new Sequential([new Flatten({ inputShape: SHAPE }), new Dense({ units: 2, activation: 'softmax' })], { engine: single, seed: 1 });
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const transformer = new WasmImageTransformer(single, { preprocessing: { kind: 'minmax' }, seed: 1 });
      const data = new ImageDataset({ ...images(N), shape: SHAPE, transformer, engine: single });
      const prefetch = vi.spyOn(single.raw, 'lc_model_train_step_prefetch');
      await model.fit(data, { epochs: 1, batchSize: BATCH });
      expect(prefetch).not.toHaveBeenCalled();
      // Asked for, it works there too (the join runs its two halves one after the other).
      await model.fit(data, { epochs: 1, batchSize: BATCH, prefetch: true });
      expect(prefetch).toHaveBeenCalledTimes(4);
    } finally {
      await single.shutdown();
    }
    const { data: x, labels } = { data: new Float32Array(N * 1080), labels: images(N).labels };
    const arrays = await countingSteps(() => net().fit({ data: x, shape: [N, ...SHAPE] }, labels, { epochs: 1, batchSize: BATCH, prefetch: true }));
    expect(arrays.prefetched).toBe(0);
    await expect(net().fit({ data: x, shape: [N, ...SHAPE] }, labels, { prefetch: 'yes' as unknown as boolean })).rejects.toThrow(ConfigError);
  });

  it('refuses a prefetch that would write over the step’s inputs (the engine checks)', async () => {
    const model = net();
    const compiled = await model.ensureCompiled(BATCH);
    const data = dataset();
    const it = (data.batches({ batchSize: BATCH }) as AsyncIterable<DataBatch>)[Symbol.asyncIterator]();
    const first = (await it.next()).value as DataBatch;
    first.fill(compiled.inputView(BATCH));
    const second = (await it.next()).value as DataBatch;
    const staged = second.stage!(compiled.inputView(BATCH));
    expect(() => compiled.trainStep({ batch: BATCH, targets: first.targets as Uint32Array, learningRate: 0.01, step: 1, seed: 1, prefetch: staged! })).toThrow(/the staged transform or mixing writes into the step's inputs or targets/);
    await it.return?.();
  });

  it('refuses a staged mixing that does not cover the transform or would write over the step (the engine checks)', async () => {
    const model = net();
    const compiled = await model.ensureCompiled(BATCH);
    const buffer = engine.memory.alloc(BUFFER_BYTES, 16);
    const data = mixedBatches(dataset(), { kind: 'mixup', alpha: 1, seed: 2, engine, targetWidth: 2 });
    try {
      const it = (data.batches({ batchSize: BATCH }) as AsyncIterable<DataBatch>)[Symbol.asyncIterator]();
      const first = (await it.next()).value as DataBatch;
      first.fill(compiled.inputView(BATCH));
      const second = (await it.next()).value as DataBatch;
      const staged = second.stage!(engine.memory.f32(buffer, BATCH * SHAPE[0] * SHAPE[1] * SHAPE[2]))!;
      const step = (prefetch: typeof staged) => () => compiled.trainStep({ batch: BATCH, targets: first.targets as Float32Array, learningRate: 0.01, step: 1, seed: 1, prefetch });
      // MixArgs (crates/kernels/src/ffi/image.rs) fields, 4 bytes each: 6 is n, 11 the scratch pointer.
      const field = (i: number) => new DataView(engine.memory.memory.buffer).getUint32(staged.mixArgsPtr! + 4 * i, true);
      const setField = (i: number, v: number) => new DataView(engine.memory.memory.buffer).setUint32(staged.mixArgsPtr! + 4 * i, v, true);
      const scratch = field(11);
      // Its scratch where the step's inputs are.
      setField(11, compiled.inputView(BATCH).byteOffset);
      expect(step(staged)).toThrow(/the staged transform or mixing writes into the step's inputs or targets/);
      // A batch of another size than the transform's.
      setField(11, scratch);
      setField(6, BATCH - 1);
      expect(step(staged)).toThrow(/the mixing covers \d+ values, the transform writes \d+/);
      setField(6, BATCH);
      step(staged)();
      await it.return?.();
    } finally {
      engine.memory.free(buffer, BUFFER_BYTES, 16);
      data.dispose();
    }
  });
});
