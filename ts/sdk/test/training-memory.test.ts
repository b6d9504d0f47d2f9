/**
 * Gradient and optimizer memory follows the trainable set: nothing for a
 * model that only predicts, the trainable parameters only for a frozen
 * backbone (allocated at the first training step), re-planned when layers are
 * unfrozen between compiles; checkpoints keep their parameter-shaped layout;
 * a model the engine cannot hold is an OutOfMemoryError, not a shape error;
 * training plans the batch it trains, and re-planning for another batch size
 * happens in place (no second copy of the weights and optimizer state).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, applications, Dense, Engine, freezeAllButLast, input, Model, OutOfMemoryError, RuntimeError, ShapeError } from '@lite-cnn/sdk';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});
afterAll(async () => engine?.shutdown());

const SIDE = 32;
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function data(n: number, seed: number): { x: { data: Float32Array; shape: number[] }; y: number[] } {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { x: { data: Float32Array.from({ length: n * SIDE * SIDE * 3 }, rnd), shape: [n, SIDE, SIDE, 3] }, y: Array.from({ length: n }, (_, i) => i % 3) };
}

/** ResNet-18 on 32x32 images, all but its last `trainable` layers frozen (0: all trainable), compiled with Adam. */
function resnet(trainable = 0): Model {
  const m = applications.resnet18({ inputShape: [SIDE, SIDE, 3], classes: 3, seed: 5, engine });
  if (trainable > 0) freezeAllButLast(m, trainable);
  m.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

const lengths = (m: Model) => (['Grads', 'Slot1', 'Slot2'] as const).map((b) => m.executor.buffer(b).length);

describe('training memory', () => {
  it('an inference-only model allocates no gradients or optimizer slots', async () => {
    const m = applications.resnet18({ inputShape: [SIDE, SIDE, 3], classes: 3, seed: 5, engine });
    await m.predict(data(2, 1).x);
    expect(lengths(m)).toEqual([0, 0, 0]);
    // A compiled model that only evaluates allocates none either.
    m.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const { x, y } = data(4, 2);
    await m.evaluate(x, y, { batchSize: 4 });
    expect(lengths(m)).toEqual([0, 0, 0]);
    m.dispose();
  });

  it('a frozen backbone keeps gradients and Adam slots for its trainable part only', async () => {
    const { x, y } = data(8, 3);
    const all = resnet();
    const tuned = resnet(8); // layer4.1 (conv, bn, relu, conv, bn, add, relu), avgpool, fc: minus what freezes
    await all.fit(x, y, { epochs: 1, batchSize: 8 });
    await tuned.fit(x, y, { epochs: 1, batchSize: 8 });
    const [n, k] = [all.countParams().trainable, tuned.countParams().trainable];
    expect(lengths(all)).toEqual([n, n, n]);
    expect(lengths(tuned)).toEqual([k, k, k]);
    expect(k).toBeLessThan(n / 2);
    all.dispose();
    tuned.dispose();
  });

  it('resumes a frozen-backbone fine-tuning from a file, bit-identical to an uninterrupted run', async () => {
    const { x, y } = data(16, 4);
    const straight = resnet(12);
    await straight.fit(x, y, { epochs: 2, batchSize: 8 });
    const first = resnet(12);
    await first.fit(x, y, { epochs: 1, batchSize: 8 });
    const state = first.optimizerState();
    expect(state.slot1.length).toBe(first.countParams().trainable + first.countParams().nonTrainable - stateValues(first));
    const resumed = await Model.fromBytes(first.toBytes({ includeOptimizer: true }), { engine });
    expect(resumed.step).toBe(2);
    expect(resumed.layers.map((l) => l.trainable)).toEqual(first.layers.map((l) => l.trainable));
    await resumed.fit(x, y, { epochs: 2, initialEpoch: 1, batchSize: 8 });
    for (const [name, v] of straight.getWeights()) expect(bits(resumed.getWeights().get(name)!).equals(bits(v)), name).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('compile() resets the optimizer state; unfreezing between compiles trains the newly trainable layers', async () => {
    const { x, y } = data(8, 5);
    const m = resnet(2); // avgpool and fc
    await m.fit(x, y, { epochs: 1, batchSize: 8 });
    const fc = m.countParams().trainable;
    expect(m.executor.buffer('Slot1').some((v) => v !== 0)).toBe(true);
    // Same trainable set: compile() zeroes the slots (Keras resets the optimizer on compile).
    m.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
    expect(m.step).toBe(0);
    expect(m.executor.buffer('Slot1').every((v) => v === 0)).toBe(true);
    // Unfreeze layer4.1's last conv and BatchNorm: gradients and slots are re-planned for the larger set.
    for (const name of ['layer4.1.conv2', 'layer4.1.bn2']) m.getLayer(name).trainable = true;
    m.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
    const before = m.getWeights();
    await m.fit(x, y, { epochs: 1, batchSize: 8 });
    const k = m.countParams().trainable;
    expect(k).toBe(fc + 512 * 512 * 9 + 2 * 512);
    expect(lengths(m)).toEqual([k, k, k]);
    const after = m.getWeights();
    const changed = (name: string) => !bits(after.get(name)!).equals(bits(before.get(name)!));
    const index = (layer: string) => m.layers.findIndex((l) => l.name === layer);
    expect(changed(`layers.${index('layer4.1.conv2')}.kernel`), 'the unfrozen conv trains').toBe(true);
    expect(changed(`layers.${index('layer4.1.bn2')}.gamma`), 'the unfrozen BatchNorm trains').toBe(true);
    expect(changed(`layers.${index('layer4.1.conv1')}.kernel`), 'a frozen conv does not').toBe(false);
    m.dispose();
  });

  it('fit plans the batch it trains; re-planning in between keeps training bit-identical', async () => {
    const { x, y } = data(8, 7);
    const straight = resnet(8);
    await straight.fit(x, y, { epochs: 2, batchSize: 4 });
    expect(straight.executor.maxBatch).toBe(4);
    const replanned = resnet(8);
    await replanned.build();
    expect(replanned.executor.maxBatch).toBe(32);
    await replanned.fit(x, y, { epochs: 1, batchSize: 4 });
    expect(replanned.executor.maxBatch, 'planned down to the training batch').toBe(4);
    await replanned.predict(data(6, 8).x, { batchSize: 6 });
    expect(replanned.executor.maxBatch, 'planned up for a larger prediction batch').toBe(6);
    await replanned.fit(x, y, { epochs: 2, initialEpoch: 1, batchSize: 4 });
    expect(replanned.executor.maxBatch).toBe(4);
    for (const [name, v] of straight.getWeights()) expect(bits(replanned.getWeights().get(name)!).equals(bits(v)), name).toBe(true);
    for (const b of ['Slot1', 'Slot2'] as const) expect(bits(replanned.executor.buffer(b)).equals(bits(straight.executor.buffer(b))), b).toBe(true);
    const probe = data(3, 9).x;
    expect(bits(await replanned.predict(probe)).equals(bits(await straight.predict(probe)))).toBe(true);
    straight.dispose();
    replanned.dispose();
  });

  it('re-planning for a larger batch holds no second copy of the weights and optimizer state', async () => {
    // 10 M weights: 160 MB with gradients and both Adam slots, in an engine
    // capped at 256 MiB: a second copy during the re-plan could not fit.
    const capped = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
    const features = 2500;
    const x = input({ shape: [1, 1, features] });
    const m = new Model({ inputs: x, outputs: new Dense({ units: 4000, activation: 'softmax' }).apply(x), engine: capped, seed: 3 });
    m.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
    const sample = (n: number) => ({ data: Float32Array.from({ length: n * features }, (_, i) => (i % 7) / 7), shape: [n, 1, 1, features] });
    await m.fit(sample(2), [1, 2], { epochs: 1, batchSize: 2 });
    expect(lengths(m)).toEqual([10_004_000, 10_004_000, 10_004_000]);
    const slot = m.executor.buffer('Slot1').slice();
    const p = await m.predict(sample(16), { batchSize: 16 });
    expect(m.executor.maxBatch).toBe(16);
    expect(p.length).toBe(16 * 4000);
    expect(bits(m.executor.buffer('Slot1')).equals(bits(slot)), 'the optimizer state survives the re-plan').toBe(true);
    m.dispose();
    await capped.shutdown();
  });

  it('a model too large for the engine is an OutOfMemoryError naming the bytes asked and the limit', async () => {
    // An engine capped at 1 GiB (Node's default is wasm32's 4 GiB), so 1.6 GB of weights cannot fit.
    const capped = await Engine.create({ threads: 2, maxMemoryMiB: 1024 });
    const x = input({ shape: [1, 1, 20_000] });
    const huge = new Model({ inputs: x, outputs: new Dense({ units: 20_000 }).apply(x), engine: capped });
    const error = await huge.build({ batchSize: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutOfMemoryError);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).not.toBeInstanceOf(ShapeError);
    const oom = error as OutOfMemoryError;
    expect(oom.limitBytes).toBe(2 ** 30);
    expect(oom.message).toMatch(/cannot allocate params \(400020000 values, 1600080000 bytes\)/);
    expect(oom.message).toMatch(/of at most 1073741824 bytes/);
    // The engine is still usable.
    const small = applications.resnet18({ inputShape: [SIDE, SIDE, 3], classes: 3, seed: 5, engine: capped });
    expect((await small.predict(data(1, 6).x)).length).toBe(3);
    small.dispose();
    await capped.shutdown();
  });
});

/** Values of the model's non-trained state (BatchNorm moving statistics). */
function stateValues(m: Model): number {
  return m.plan().tensors.filter((t) => t.role === 'movingMean' || t.role === 'movingVariance').reduce((a, t) => a + t.size, 0);
}
