import { beforeAll, describe, expect, it } from 'vitest';
import { CompiledModel, Engine, loadMnist, type MnistData } from '@lite-cnn/sdk';
import { glorotInit, mnistLayers } from './mnist-net.js';

const BATCH = 32;

function batchOf(data: MnistData['train'], start: number, n: number) {
  const x = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) x[i] = data.images[start * 784 + i]! / 255;
  return { x, y: Uint32Array.from(data.labels.subarray(start, start + n)) };
}

async function train(mnist: MnistData, threads: number, steps: number) {
  const engine = await Engine.create({ threads });
  const model = CompiledModel.create(engine, { input: [28, 28, 1], maxBatch: BATCH, steps: mnistLayers });
  glorotInit(model, 42);
  model.configure({ loss: 'softmaxCrossEntropy', optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } });
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const { x, y } = batchOf(mnist.train, (step - 1) * BATCH, BATCH);
    const s = model.trainStep({ x, targets: y, batch: BATCH, learningRate: 0.01, step, seed: 42 });
    expect(s.updated).toBe(true);
    losses.push(s.loss);
  }
  return { engine, model, losses };
}

describe('training the study MNIST net in wasm', () => {
  let mnist: MnistData;
  beforeAll(async () => {
    mnist = await loadMnist();
  });

  it('drives the loss down and reaches at least 93% test accuracy after 800 steps', async () => {
    const { engine, model, losses } = await train(mnist, 2, 800);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const early = mean(losses.slice(0, 20));
    const late = mean(losses.slice(-50));
    expect(early).toBeGreaterThan(1.0);
    expect(late).toBeLessThan(0.45);
    let correct = 0;
    const n = 2000;
    for (let start = 0; start < n; start += BATCH) {
      const { x, y } = batchOf(mnist.test, start, BATCH);
      const p = model.forward(x, BATCH);
      for (let b = 0; b < BATCH; b++) {
        const row = p.subarray(b * 10, b * 10 + 10);
        const pred = row.indexOf(Math.max(...row));
        if (pred === y[b]) correct++;
      }
    }
    const accuracy = correct / n;
    console.log(`MNIST net, 800 Adam steps: loss ${early.toFixed(3)} -> ${late.toFixed(3)}, test accuracy ${(accuracy * 100).toFixed(1)}% on ${n} images`);
    expect(accuracy).toBeGreaterThanOrEqual(0.93);
    await engine.shutdown();
  });

  it('gives bit-identical weights with 1 and 2 threads', async () => {
    const one = await train(mnist, 1, 60);
    const two = await train(mnist, 2, 60);
    const p1 = one.model.params().slice();
    const p2 = two.model.params().slice();
    expect(p1.length).toBe(3554);
    expect(Buffer.from(p1.buffer).equals(Buffer.from(p2.buffer))).toBe(true);
    expect(one.losses).toEqual(two.losses);
    await one.engine.shutdown();
    await two.engine.shutdown();
  });
});
