/**
 * compile({ metrics }): AUC, precision and recall reported by evaluate and
 * fit, checked against references computed here from the model's own
 * outputs (no MetricAccumulator in the references).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Dense, Engine, Flatten, METRIC_NAMES, Sequential, type LossName } from '@lite-cnn/sdk';
import { mulberry32 } from './seeded-random.js';

const N = 48;
const SHAPE: [number, number, number] = [4, 4, 2];

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});
afterAll(async () => {
  await engine.shutdown();
});

/** Inputs whose first feature leans with the label, so the metrics are neither 0 nor 1. */
function data(classes: number, seed: number) {
  const uniform = mulberry32(seed);
  const per = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const x = new Float32Array(N * per);
  const y = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    y[i] = i % classes;
    for (let j = 0; j < per; j++) x[i * per + j] = uniform() - 0.5 + (j % classes === y[i] ? 0.4 : 0);
  }
  return { x: { data: x, shape: [N, ...SHAPE] }, y };
}

function net(units: number, activation: 'softmax' | 'sigmoid', loss: LossName, seed = 1): Sequential {
  const m = new Sequential([new Flatten({ inputShape: SHAPE }), new Dense({ units, activation })], { engine, seed });
  m.compile({ optimizer: 'adam', loss, metrics: ['accuracy', 'auc', 'precision', 'recall'] });
  return m;
}

/** P(score of a random positive > that of a random negative), ties 1/2: over all pairs. */
function pairAuc(positive: boolean[], score: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < score.length; i++) {
    for (let j = 0; j < score.length; j++) {
      if (!positive[i] || positive[j]) continue;
      pairs++;
      wins += score[i]! > score[j]! ? 1 : score[i] === score[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Precision and recall of class c from labels and predicted classes. */
function classPr(labels: ArrayLike<number>, predicted: number[], c: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predicted.length; i++) {
    if (predicted[i] === c && labels[i] === c) tp++;
    else if (predicted[i] === c) fp++;
    else if (labels[i] === c) fn++;
  }
  return { precision: tp + fp ? tp / (tp + fp) : 0, recall: tp + fn ? tp / (tp + fn) : 0 };
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
  return best;
}

/** The expected metrics from outputs `[n, k]` (k = 1: sigmoid). */
function expected(out: Float32Array, k: number, labels: ArrayLike<number>) {
  const n = labels.length;
  const rows = Array.from({ length: n }, (_, i) => Array.from(out.subarray(i * k, i * k + k)));
  if (k <= 2) {
    const p = rows.map((r) => (k === 1 ? r[0]! : r[1]!));
    const predicted = k === 1 ? p.map((v) => (v > 0.5 ? 1 : 0)) : rows.map(argmax);
    const positive = Array.from(labels, (l) => l === 1);
    return { auc: pairAuc(positive, p), ...classPr(labels, predicted, 1) };
  }
  const predicted = rows.map(argmax);
  let auc = 0;
  let precision = 0;
  let recall = 0;
  for (let c = 0; c < k; c++) {
    auc += pairAuc(Array.from(labels, (l) => l === c), rows.map((r) => r[c]!));
    const pr = classPr(labels, predicted, c);
    precision += pr.precision;
    recall += pr.recall;
  }
  return { auc: auc / k, precision: precision / k, recall: recall / k };
}

describe('compile({ metrics })', () => {
  it('lists the metric names and refuses unknown, repeated or malformed ones', () => {
    expect([...METRIC_NAMES]).toEqual(['accuracy', 'auc', 'precision', 'recall']);
    const m = new Sequential([new Flatten({ inputShape: SHAPE }), new Dense({ units: 2, activation: 'softmax' })], { engine });
    const compile = (metrics: unknown) => () => m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: metrics as 'auc'[] });
    expect(compile(['f1'])).toThrow(ConfigError);
    expect(compile(['f1'])).toThrow(/unknown metric "f1", expected one of accuracy, auc, precision, recall/);
    expect(compile(['auc', 'auc'])).toThrow(/metric 'auc' is listed twice/);
    expect(compile('auc')).toThrow(/metrics must be an array of metric names/);
    m.dispose();
  });

  const cases: [string, number, 'softmax' | 'sigmoid', LossName][] = [
    ['two softmax units', 2, 'softmax', 'sparseCategoricalCrossentropy'],
    ['one sigmoid unit', 1, 'sigmoid', 'binaryCrossentropy'],
    ['three classes (macro)', 3, 'softmax', 'sparseCategoricalCrossentropy'],
  ];
  for (const [name, units, activation, loss] of cases) {
    it(`evaluate reports them for ${name}, equal to a pairwise reference on the model's outputs`, async () => {
      const classes = Math.max(2, units);
      const { x, y } = data(classes, 10 + units);
      const m = net(units, activation, loss);
      const r = await m.evaluate(x, y, { batchSize: 10 });
      const out = await m.predict(x);
      const want = expected(out, units, y);
      expect(Object.keys(r).sort()).toEqual(['accuracy', 'auc', 'loss', 'precision', 'recall']);
      expect(r.auc).toBeCloseTo(want.auc, 12);
      expect(r.precision).toBeCloseTo(want.precision, 12);
      expect(r.recall).toBeCloseTo(want.recall, 12);
      // Not degenerate: the checks above would pass trivially at 0 or 1.
      for (const v of [r.auc!, r.precision!, r.recall!]) expect(v > 0 && v < 1).toBe(true);
      m.dispose();
    });
  }

  it('fit logs them for training and validation every epoch; training ones are over the epoch\'s own outputs', async () => {
    const { x, y } = data(2, 20);
    const val = data(2, 21);
    const m = net(2, 'softmax', 'sparseCategoricalCrossentropy', 3);
    await m.build({ batchSize: N });
    // One batch of the whole set, in order: the epoch's outputs are the training-mode forward before its update.
    const before = m.executor.forward(x.data, N, { training: true });
    const h = await m.fit(x, y, { epochs: 2, batchSize: N, shuffle: false, validationData: [val.x, val.y] });
    for (const key of ['auc', 'precision', 'recall', 'val_auc', 'val_precision', 'val_recall']) expect(h.history[key]).toHaveLength(2);
    const first = expected(before, 2, y);
    expect(h.history.auc![0]).toBeCloseTo(first.auc, 12);
    expect(h.history.precision![0]).toBeCloseTo(first.precision, 12);
    expect(h.history.recall![0]).toBeCloseTo(first.recall, 12);
    // Validation after the last epoch is the model as it ends.
    const after = await m.evaluate(val.x, val.y);
    expect(h.history.val_auc![1]).toBe(after.auc);
    expect(h.history.val_precision![1]).toBe(after.precision);
    expect(h.history.val_recall![1]).toBe(after.recall);
    m.dispose();
  });

  it('only the metrics named are reported, and a pass lacking a class has an undefined (NaN) AUC', async () => {
    const { x, y } = data(2, 30);
    const m = new Sequential([new Flatten({ inputShape: SHAPE }), new Dense({ units: 2, activation: 'softmax' })], { engine, seed: 2 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['recall'] });
    expect(Object.keys(await m.evaluate(x, y)).sort()).toEqual(['accuracy', 'loss', 'recall']);
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['auc', 'recall'] });
    const negatives = new Uint32Array(N);
    const r = await m.evaluate(x, negatives);
    expect(r.auc).toBeNaN();
    expect(r.recall).toBe(0); // no positives: 0, as Keras and scikit-learn count it
    m.dispose();
  });
});
