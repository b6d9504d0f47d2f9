/**
 * --threshold-cv: the epoch count and threshold chosen from pooled
 * out-of-fold predictions (chooseFromPooled, on hand-made probabilities
 * whose losses are worked out below), and how the option resolves.
 */
import { describe, expect, it } from 'vitest';
import { calibrateProbabilities, fitTemperature } from '@lite-cnn/sdk';
import { chooseFromPooled } from '../src/train/threshold-cv.js';
import { resolveTrainOptions } from '../src/train/options.js';

/** Two-column softmax rows [1 - p, p] from positive-class probabilities. */
const rows = (ps: number[]) => Float32Array.from(ps.flatMap((p) => [1 - p, p]));

// Two inner folds: A holds a positive and a negative, B two positives and a negative.
const labels = [Uint32Array.from([1, 0]), Uint32Array.from([1, 1, 0])];
// Positive-class probability of each held-out image after epochs 1, 2, 3.
const epochsA = [[0.5, 0.5], [0.8, 0.2], [0.7, 0.4]];
const epochsB = [[0.5, 0.5, 0.5], [0.9, 0.6, 0.3], [0.6, 0.7, 0.4]];
const perFold = [epochsA.map(rows), epochsB.map(rows)];
// Pooled cross-entropy, -mean ln p(label), over the 5 images:
const LOSS = [
  Math.log(2),
  -(Math.log(0.8) + Math.log(0.8) + Math.log(0.9) + Math.log(0.6) + Math.log(0.7)) / 5, // 0.28383: the lowest
  -(Math.log(0.7) + Math.log(0.6) + Math.log(0.6) + Math.log(0.7) + Math.log(0.6)) / 5, // 0.44917
];

describe('chooseFromPooled', () => {
  it('takes the epoch with the lowest pooled out-of-fold loss and the threshold on the pooled scores there', () => {
    const c = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 1, rule: 'recall', startFrom: 0 });
    expect(c.losses).toHaveLength(3);
    c.losses.forEach((l, e) => expect(l).toBeCloseTo(LOSS[e]!, 6));
    expect(c.epochs).toBe(2);
    expect(c.images).toBe(5);
    // Epoch 2's pooled scores: positives 0.8, 0.9, 0.6; negatives 0.2, 0.3. Recall 1 needs 0.6.
    expect(c.threshold).toBeCloseTo(0.6, 6);
    expect(c.recall).toBe(1);
    expect(c.precision).toBe(1);
    // Recall 0.6 is reached by the two highest positives (0.9, 0.8): the threshold is 0.8, recall 2/3.
    const lower = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 0.6, rule: 'recall', startFrom: 0 });
    expect(lower.threshold).toBeCloseTo(0.8, 6);
    expect(lower.recall).toBeCloseTo(2 / 3, 12);
  });

  it('never picks an epoch before startFrom (--min-epochs)', () => {
    const c = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 1, rule: 'recall', startFrom: 2 });
    expect(c.epochs).toBe(3);
    expect(c.losses[2]).toBeCloseTo(LOSS[2]!, 6);
    // Epoch 3: positives 0.7, 0.6, 0.7; negatives 0.4, 0.4.
    expect(c.threshold).toBeCloseTo(0.6, 6);
    expect(c.precision).toBe(1);
    expect(() => chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 1, rule: 'recall', startFrom: 3 })).toThrow(/3 epochs recorded, but the epoch count is chosen from epoch 4 on/);
  });

  it('with --calibrate, fits on the pooled probabilities of the chosen epoch and reads the threshold off them calibrated', () => {
    const c = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 1, rule: 'recall', startFrom: 0, calibration: 'temperature' });
    expect(c.epochs).toBe(2);
    // Epoch 2, pooled in fold order: A's two images then B's three.
    const pooled = Float32Array.from([...rows([0.8, 0.2]), ...rows([0.9, 0.6, 0.3])]);
    const fit = fitTemperature(pooled, [1, 0, 1, 1, 0], 2);
    expect(c.calibration).toEqual(fit);
    // Temperature keeps the order: the threshold is the lowest positive (0.6) calibrated.
    expect(c.threshold).toBe(calibrateProbabilities(rows([0.6]), 2, fit.config)[1]);
    expect(c.recall).toBe(1);
    expect(chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 1, rule: 'recall', startFrom: 0 }).calibration).toBeNull();
  });

  it('a one-unit sigmoid model scores the same as its two-column twin', () => {
    const sigmoid = [epochsA.map((ps) => Float32Array.from(ps)), epochsB.map((ps) => Float32Array.from(ps))];
    const a = chooseFromPooled(sigmoid, labels, { outputs: 1, positiveClass: 1, targetRecall: 0.6, rule: 'recall', startFrom: 0 });
    const b = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 1, targetRecall: 0.6, rule: 'recall', startFrom: 0 });
    expect(a.epochs).toBe(b.epochs);
    expect(a.threshold).toBe(b.threshold);
    a.losses.forEach((l, e) => expect(l).toBeCloseTo(b.losses[e]!, 6));
  });

  it('positive class 0: the threshold is on class 0\'s probability', () => {
    // Class 0 is now the positive one: its scores are 1 - p; at epoch 2 the two negatives (labels 0) score 0.8 and 0.7.
    const c = chooseFromPooled(perFold, labels, { outputs: 2, positiveClass: 0, targetRecall: 1, rule: 'recall', startFrom: 0 });
    expect(c.epochs).toBe(2);
    expect(c.threshold).toBeCloseTo(0.7, 6);
    // Scores >= 0.7: the two class-0 images and no class-1 image (their class-0 scores are 0.2, 0.1, 0.4).
    expect(c.precision).toBe(1);
  });

  it('no positive among the pooled images is a clear error', () => {
    const none = [Uint32Array.from([0, 0]), Uint32Array.from([0, 0, 0])];
    expect(() => chooseFromPooled(perFold, none, { outputs: 2, positiveClass: 1, targetRecall: 0.9, rule: 'recall', startFrom: 0 })).toThrow(/--threshold-cv: cannot choose a threshold on the 5 pooled out-of-fold images/);
  });
});

const resolve = (raw: Parameters<typeof resolveTrainOptions>[0]) => resolveTrainOptions(raw, (p) => `/abs/${p}`);
const target = { targetRecall: 0.9, positive: 'malignant' } as const;

describe('--threshold-cv resolution', () => {
  it('is off unless asked for (no preset uses it: the inner models\' threshold did not carry to the stored model)', () => {
    expect(resolve({ preset: 'histology', data: 'tiles', ...target }).thresholdCv).toBeNull();
    expect(resolve({ preset: 'breakhis', data: 'tiles', ...target }).thresholdCv).toBeNull();
    expect(resolve({ preset: 'breakhis', data: 'tiles', ...target, thresholdCv: 4 }).thresholdCv).toEqual({ folds: 4 });
    expect(resolve({ preset: 'histology', data: 'tiles', ...target, thresholdCv: 3 }).thresholdCv).toEqual({ folds: 3 });
    expect(resolve({ preset: 'histology', data: 'tiles', ...target, thresholdCv: 0 }).thresholdCv).toBeNull();
  });

  it('bad combinations are usage errors naming the options', () => {
    expect(() => resolve({ preset: 'breakhis', data: 'tiles', thresholdCv: 3 })).toThrow(/--threshold-cv K chooses the --target-recall threshold: it needs --target-recall R --positive CLASS/);
    expect(() => resolve({ preset: 'breakhis', data: 'tiles', ...target, thresholdCv: 1 })).toThrow(/--threshold-cv needs at least 2 folds \(0: off\), got 1/);
    expect(() => resolve({ preset: 'histology', data: 'tiles', ...target, thresholdCv: 3, patience: 3 })).toThrow(/--patience use the validation split, which --threshold-cv 3 replaces by an inner cross-validation$/);
    expect(() => resolve({ preset: 'mnist', thresholdCv: 3, ...target })).toThrow(/only apply to image folders/);
  });
});
