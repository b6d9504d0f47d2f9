/**
 * ensembleModels and the Average layer: one model whose output is the mean
 * of its members' softmax probabilities, bit for bit the members' own
 * outputs averaged; saved and loaded; evaluated and trained on the
 * cross-entropy of the averaged probabilities; typed errors for members that
 * cannot be averaged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, Average, BatchNormalization, ConfigError, Conv2D, Dense, Engine, ENSEMBLE_OUTPUT_LAYER, ensembleModels, Flatten, gradCam, input, Model, ReLU, Sequential, ShapeError } from '@lite-cnn/sdk';

let engine: Engine;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'lite-cnn-ensemble-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await engine?.shutdown();
});

const SHAPE = [6, 6, 2] as const;
const N = 5;
const x = Float32Array.from({ length: N * 6 * 6 * 2 }, (_, i) => Math.sin(i * 0.7));
const labels = Int32Array.from({ length: N }, (_, i) => i % 3);

/** A small classifier with a BatchNorm (moving statistics must travel too). */
async function member(seed: number): Promise<Sequential> {
  const m = new Sequential(
    [new Conv2D({ filters: 3, kernelSize: 3, inputShape: [...SHAPE] }), new BatchNormalization(), new ReLU(), new Flatten(), new Dense({ units: 3, activation: 'softmax' })],
    { seed, engine },
  );
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  // Two epochs move the weights and the BatchNorm's moving statistics off their initial values.
  await m.fit({ data: x, shape: [N, ...SHAPE] }, labels, { epochs: 2, batchSize: 5, verbose: 0 });
  m.metadata = { ...m.metadata, classNames: ['a', 'b', 'c'], threshold: null };
  return m;
}

describe('ensembleModels', () => {
  it('averages the members\' probabilities exactly, keeps their weights, and round-trips through a file', async () => {
    const members = await Promise.all([member(1), member(2), member(3)]);
    const own = await Promise.all(members.map((m) => m.predict({ data: x, shape: [N, ...SHAPE] })));
    const ensemble = await ensembleModels(members);
    expect(ensemble.layers.map((l) => l.name)).toEqual([
      ...[1, 2, 3].flatMap((k) => ['conv2d', 'batch_normalization', 're_lu', 'flatten', 'dense'].map((n) => `m${k}.${n}`)),
      ENSEMBLE_OUTPUT_LAYER,
    ]);
    expect(ensemble.countParams().total).toBe(members.reduce((s, m) => s + m.countParams().total, 0));
    expect(ensemble.metadata.classNames).toEqual(['a', 'b', 'c']);
    const got = await ensemble.predict({ data: x, shape: [N, ...SHAPE] });
    // The kernel's contract: the f32 sum in member order, then one division.
    const want = Float32Array.from(own[0]!, (_, i) => Math.fround(Math.fround(Math.fround(own[0]![i]! + own[1]![i]!) + own[2]![i]!) / 3));
    expect(Array.from(got)).toEqual(Array.from(want));

    const file = join(dir, 'ensemble.safetensors');
    await ensemble.save(file);
    const loaded = await Model.load(file, { engine });
    expect(Array.from(await loaded.predict({ data: x, shape: [N, ...SHAPE] }))).toEqual(Array.from(got));
    for (const m of [...members, ensemble, loaded]) m.dispose();
  });

  it('evaluates and trains on the cross-entropy of the averaged probabilities', async () => {
    const members = await Promise.all([member(4), member(5)]);
    const ensemble = await ensembleModels(members);
    ensemble.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    const p = await ensemble.predict({ data: x, shape: [N, ...SHAPE] });
    const want = Array.from(labels).reduce((s, y, i) => s - Math.log(p[i * 3 + y]!), 0) / N;
    const { loss } = await ensemble.evaluate({ data: x, shape: [N, ...SHAPE] }, labels, { batchSize: 5 });
    expect(Math.abs(loss! - want)).toBeLessThanOrEqual(1e-6 * want);
    // Joint fine-tuning lowers the training loss of the averaged probabilities (as much as a
    // member alone falls on these 5 samples: 1.77 -> 0.98 in 40 epochs; the gradients
    // themselves are checked against finite differences in crates/kernels' exec tests).
    const h = await ensemble.fit({ data: x, shape: [N, ...SHAPE] }, labels, { epochs: 40, batchSize: 5, verbose: 0 });
    const losses = h.history.loss!;
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.85);
    for (let e = 10; e < losses.length; e += 10) expect(losses[e]!, `epoch ${e + 1}`).toBeLessThan(losses[e - 10]!);
    for (const m of [...members, ensemble]) m.dispose();
  });

  it('Grad-CAM at a member\'s layer explains that member\'s logit: the map of the member alone', async () => {
    const members = await Promise.all([member(8), member(9)]);
    const ensemble = await ensembleModels(members);
    const one = { data: x.subarray(0, 2 * 72), shape: [2, ...SHAPE] as [number, number, number, number] };
    for (const [k, m] of members.entries()) {
      const alone = await gradCam(m, one, { layer: 're_lu', classIndex: 1 });
      const inEnsemble = await gradCam(ensemble, one, { layer: `m${k + 1}.re_lu`, classIndex: 1 });
      expect(inEnsemble.score).toBe('logit');
      for (const [s, map] of inEnsemble.maps.entries()) {
        const want = alone.maps[s]!.heatmap;
        const scale = Math.max(...want, 1e-30);
        map.heatmap.forEach((v, i) => expect(Math.abs(v - want[i]!), `member ${k + 1} sample ${s} position ${i}`).toBeLessThanOrEqual(1e-5 * scale));
      }
    }
    // By default: the last member's last convolution block.
    expect((await gradCam(ensemble, one)).layer.name).toBe('m2.re_lu');
    for (const m of [...members, ensemble]) m.dispose();
  });

  it('refuses members it cannot average, naming the member and what differs', async () => {
    const a = await member(6);
    await expect(ensembleModels([a])).rejects.toThrow(/needs at least 2 models, got 1/);
    const other = await member(7);
    other.metadata = { ...other.metadata, classNames: ['a', 'b', 'x'] };
    await expect(ensembleModels([a, other])).rejects.toThrow(ConfigError);
    await expect(ensembleModels([a, other])).rejects.toThrow(/member 2 \('.*'\) has classNames \["a","b","x"\], member 1 \('.*'\) \["a","b","c"\]: the members must prepare their inputs alike/);
    const logits = new Sequential([new Flatten({ inputShape: [...SHAPE] }), new Dense({ name: 'logits', units: 3 })], { engine });
    await logits.build({ batchSize: 1 });
    await expect(ensembleModels([a, logits])).rejects.toThrow(/member 2 \('.*'\): it ends in Dense 'logits', which does not output softmax probabilities/);
    const unbuilt = new Sequential([new Flatten({ inputShape: [...SHAPE] }), new Dense({ units: 3, activation: 'softmax' })], { engine });
    await expect(ensembleModels([a, unbuilt])).rejects.toThrow(/member 2 \('.*'\) has no weights yet/);
    const wide = new Sequential([new Flatten({ inputShape: [6, 6, 3] }), new Dense({ units: 3, activation: 'softmax' })], { engine });
    await wide.build({ batchSize: 1 });
    await expect(ensembleModels([a, wide])).rejects.toThrow(/member 2 \('.*'\) takes input \[6, 6, 3\], member 1 \[6, 6, 2\]/);
    for (const m of [a, other, logits, unbuilt, wide]) m.dispose();
  });
});

describe('Average', () => {
  it('needs two or more inputs of one shape', () => {
    const t = input({ shape: [4, 4, 2] });
    const u = new Conv2D({ filters: 3, kernelSize: 1 }).apply(t);
    expect(() => new Average({ name: 'mean' }).apply([t, u])).toThrow(ShapeError);
    expect(() => new Average({ name: 'mean' }).apply([t, u])).toThrow("Average 'mean': expected inputs of one shape, got [batch, 4, 4, 2], [batch, 4, 4, 3]");
    expect(() => new Average().apply(t)).toThrow(/takes at least 2 inputs, got 1/);
  });
});
