/**
 * Test-time augmentation (views, averaging, through a real model) and
 * group-level aggregation / per-subtype recall on hand-computed values.
 */
import { describe, expect, it } from 'vitest';
import { applyView, ConfigError, DataError, decideClasses, groupOutputs, poolGroups, predictWithTta, ShapeError, subtypeRecall, ttaViews, type Dataset, type Predictor } from '@lite-cnn/sdk';
import { mnistNet } from './nets.js';

/** A stand-in model whose one output is the first pixel of each input: the views it saw are readable from its outputs. */
const firstPixel: Predictor = {
  async predict(x: Dataset) {
    const per = x.sampleShape[0] * x.sampleShape[1] * x.sampleShape[2];
    const out: number[] = [];
    for await (const b of x.batches({ batchSize: 2 })) {
      const buf = new Float32Array(b.size * per);
      b.fill(buf);
      for (let i = 0; i < b.size; i++) out.push(buf[i * per]!);
    }
    return Float32Array.from(out);
  },
};

describe('test-time augmentation', () => {
  it('flips are 4 views and d4 the 8 symmetries of the square', () => {
    const shape = [3, 3, 1] as const;
    const src = Float32Array.from({ length: 9 }, (_, i) => i);
    const seen = (mode: 'flips' | 'd4') =>
      ttaViews(mode).map((v) => {
        const dst = new Float32Array(9);
        applyView(v, src, shape, dst);
        return Array.from(dst).join(',');
      });
    expect(seen('flips')).toEqual(['0,1,2,3,4,5,6,7,8', '2,1,0,5,4,3,8,7,6', '6,7,8,3,4,5,0,1,2', '8,7,6,5,4,3,2,1,0']);
    const d4 = seen('d4');
    expect(new Set(d4).size).toBe(8);
    expect(d4).toContain('6,3,0,7,4,1,8,5,2'); // a quarter turn clockwise
    expect(d4).toContain('2,5,8,1,4,7,0,3,6'); // and anticlockwise
    expect(ttaViews('none')).toHaveLength(1);
    expect(() => ttaViews('rot90' as 'd4')).toThrow(ConfigError);
  });

  it('averages the outputs over the views (channels move with their pixel)', async () => {
    // Two 2x2 RGB images; the first pixel of each view is the red value of one corner.
    const img = [1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 10, 0, 0, 20, 0, 0, 30, 0, 0, 40, 0, 0];
    const x = { data: Float32Array.from(img), shape: [2, 2, 2, 3] };
    expect(Array.from(await predictWithTta(firstPixel, x))).toEqual([1, 10]);
    expect(Array.from(await predictWithTta(firstPixel, x, { tta: 'flips' }))).toEqual([2.5, 25]);
    expect(Array.from(await predictWithTta(firstPixel, x, { tta: 'd4' }))).toEqual([2.5, 25]);
    await expect(predictWithTta(firstPixel, { data: new Float32Array(2 * 3 * 2 * 3), shape: [2, 3, 2, 3] }, { tta: 'd4' })).rejects.toThrow(ShapeError);
  });

  it('with a real model: the mean of the predictions on explicitly transformed inputs', async () => {
    const model = mnistNet({ seed: 5 });
    const n = 3;
    const data = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 7919) % 255) / 255);
    const x = { data, shape: [n, 28, 28, 1] };
    const tta = await predictWithTta(model, x, { tta: 'd4', batchSize: 2 });
    const sum = new Float64Array(n * 10);
    for (const v of ttaViews('d4')) {
      const t = new Float32Array(data.length);
      for (let i = 0; i < n; i++) applyView(v, data.subarray(i * 784, (i + 1) * 784), [28, 28, 1], t.subarray(i * 784, (i + 1) * 784));
      (await model.predict({ data: t, shape: x.shape })).forEach((p, i) => (sum[i]! += p));
    }
    tta.forEach((p, i) => expect(p).toBeCloseTo(sum[i]! / 8, 6));
  });
});

describe('group-level decisions', () => {
  // Two-output probabilities of 5 images: patient a (benign) x2, b (malignant) x3.
  const probs = Float32Array.from([0.9, 0.1, 0.6, 0.4, 0.7, 0.3, 0.2, 0.8, 0.1, 0.9]);
  const labels = [0, 0, 1, 1, 1];
  const groups = ['a', 'a', 'b', 'b', 'b'];

  it('mean, median and vote pool each group', () => {
    const mean = groupOutputs(probs, 2, labels, groups, { method: 'mean' });
    expect(mean.groups).toEqual(['a', 'b']);
    expect(Array.from(mean.labels)).toEqual([0, 1]);
    expect(mean.sizes).toEqual([2, 3]);
    Array.from(mean.probs).forEach((v, i) => expect(v).toBeCloseTo([0.75, 0.25, 1 / 3, 2 / 3][i]!, 6));
    const median = groupOutputs(probs, 2, labels, groups, { method: 'median' });
    Array.from(median.probs).forEach((v, i) => expect(v).toBeCloseTo([0.75, 0.25, 0.2, 0.8][i]!, 6));
    // Votes at threshold 0.35 on class 1: a -> [benign, malignant], b -> [benign, malignant, malignant].
    const vote = groupOutputs(probs, 2, labels, groups, { method: 'vote', threshold: 0.35 });
    expect(Array.from(vote.probs)).toEqual([0.5, 0.5, 1 / 3, 2 / 3].map(Math.fround));
    // One sigmoid unit: the output is the fraction of positive decisions.
    const sig = groupOutputs(Float32Array.from([0.1, 0.4, 0.3, 0.8, 0.9]), 1, labels, groups, { method: 'vote' });
    expect(Array.from(sig.probs)).toEqual([0, 2 / 3].map(Math.fround));
  });

  it('poolGroups pools unlabelled images (what predict --group-by decides on) as groupOutputs does', () => {
    const pooled = poolGroups(probs, 2, groups, { method: 'mean' });
    expect(pooled.groups).toEqual(['a', 'b']);
    expect(pooled.members).toEqual([[0, 1], [2, 3, 4]]);
    expect(Array.from(pooled.probs)).toEqual(Array.from(groupOutputs(probs, 2, labels, groups, { method: 'mean' }).probs));
    // No labels, so a group may hold images of any class; only a missing group is an error.
    expect(() => groupOutputs(probs, 2, [0, 1, 1, 1, 1], groups, { method: 'mean' })).toThrow(/group 'a' has images of 2 classes/);
    expect(() => poolGroups(probs, 2, ['a', '', 'b', 'b', 'b'], { method: 'mean' })).toThrow(DataError);
    expect(() => poolGroups(probs, 2, groups.slice(1), { method: 'mean' })).toThrow(ShapeError);
  });

  it('decisions and per-subtype recall', () => {
    expect(Array.from(decideClasses(probs, 2))).toEqual([0, 0, 0, 1, 1]);
    expect(Array.from(decideClasses(probs, 2, { threshold: 0.35 }))).toEqual([0, 1, 0, 1, 1]);
    const rows = subtypeRecall(labels, [0, 1, 0, 1, 1], ['F', 'F', 'MC', 'DC', undefined]);
    expect(rows).toEqual([
      { subtype: 'DC', label: 1, images: 1, correct: 1, recall: 1 },
      { subtype: 'F', label: 0, images: 2, correct: 1, recall: 0.5 },
      { subtype: 'MC', label: 1, images: 1, correct: 0, recall: 0 },
    ]);
  });

  it('rejects ungrouped images and groups that mix classes', () => {
    expect(() => groupOutputs(probs, 2, labels, ['a', 'a', 'b', undefined, 'b'], { method: 'mean' })).toThrow(/image 3 has no group/);
    expect(() => groupOutputs(probs, 2, [0, 1, 1, 1, 1], groups, { method: 'mean' })).toThrow(DataError);
    expect(() => groupOutputs(probs, 2, labels, groups, { method: 'max' as 'mean' })).toThrow(ConfigError);
    expect(() => groupOutputs(probs, 2, labels, ['a'], { method: 'mean' })).toThrow(ShapeError);
  });
});
