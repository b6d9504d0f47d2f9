import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DataError,
  MetricAccumulator,
  classScores,
  classificationReport,
  confusionMatrix,
  formatClassificationReport,
  rocAuc,
  rocAucOvr,
  rocCurve,
  thresholdForRecall,
} from '@lite-cnn/sdk';
import { mulberry32 as rng } from './seeded-random.js';


/** Rows [n, classes] whose argmax is `predicted[i]` (0.6 there, the rest shared equally). */
function probsFor(predicted: number[], classes: number): Float32Array {
  const out = new Float32Array(predicted.length * classes).fill(0.4 / (classes - 1));
  predicted.forEach((p, i) => (out[i * classes + p] = 0.6));
  return out;
}

/** Mann–Whitney U / (positives × negatives) by brute force over all pairs, ties counting 1/2. */
function mannWhitney(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let u = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) u += 1;
      else if (scores[i] === scores[j]) u += 0.5;
    }
  }
  return u / pairs;
}

/** Binary labels and scores drawn from `levels` distinct values (so ties are common). */
function randomBinary(seed: number, n: number, levels: number): { labels: number[]; scores: number[] } {
  const r = rng(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.4 ? 1 : 0;
    labels.push(y);
    // Positives lean higher, so the AUC is away from 0.5.
    scores.push(Math.min(levels - 1, Math.floor((r() + 0.3 * y) * levels)) / levels);
  }
  labels[0] = 0;
  labels[1] = 1;
  return { labels, scores };
}

// The 3-class example used by several tests:
//   labels    = [0,0,0, 1,1,1,1, 2,2,2]   support 3, 4, 3
//   predicted = [0,0,1, 1,1,0,0, 2,2,2]
// Confusion matrix (rows true, columns predicted):
//   [2,1,0]
//   [2,2,0]
//   [0,0,3]
// class 0: tp 2, predicted 4 -> precision 2/4 = 1/2, recall 2/3, F1 = 2*2/(4+2+1) = 4/7
// class 1: tp 2, predicted 3 -> precision 2/3, recall 2/4 = 1/2, F1 = 2*2/(4+1+2) = 4/7
// class 2: tp 3, predicted 3 -> precision 1, recall 1, F1 1
// accuracy 7/10
// macro:    precision (1/2 + 2/3 + 1)/3 = 13/18, recall 13/18, F1 (4/7 + 4/7 + 1)/3 = 5/7
// weighted: precision (3*1/2 + 4*2/3 + 3*1)/10 = 43/60, recall (2 + 2 + 3)/10 = 7/10,
//           F1 (3*4/7 + 4*4/7 + 3*1)/10 = 7/10
const LABELS3 = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2];
const PREDICTED3 = [0, 0, 1, 1, 1, 0, 0, 2, 2, 2];

describe('confusionMatrix', () => {
  it('counts (true, predicted) pairs: rows = true class, columns = predicted', () => {
    expect(confusionMatrix(LABELS3, PREDICTED3, 3)).toEqual([
      [2, 1, 0],
      [2, 2, 0],
      [0, 0, 3],
    ]);
  });

  it('has a row and a column for every class, present or not; accepts typed arrays', () => {
    expect(confusionMatrix(new Uint8Array([0, 1, 1]), new Int32Array([1, 1, 0]), 4)).toEqual([
      [0, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('rejects bad input with DataError naming expected and received', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/expected predicted of length 2 \(one per label\), got 1/);
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/labels\[1\]: expected an integer class in \[0, 2\], got 3/);
    expect(() => confusionMatrix([0, 1], [0, 1.5], 2)).toThrow(/predicted\[1\]: expected 0 or 1, got 1\.5/);
    expect(() => confusionMatrix([0, -1], [0, 1], 2)).toThrow(/labels\[1\]: expected 0 or 1, got -1/);
    expect(() => confusionMatrix([0, NaN], [0, 1], 2)).toThrow(/labels\[1\]: expected 0 or 1, got NaN/);
    expect(() => confusionMatrix([0], [0], 1)).toThrow(/expected classes to be an integer >= 2, got 1/);
    expect(() => confusionMatrix([0], [0], 2.5)).toThrow(/expected classes to be an integer >= 2, got 2\.5/);
    expect(() => confusionMatrix([0], [0], 1)).toThrow(DataError);
  });
});

describe('classificationReport', () => {
  it('3 classes: per-class, macro and weighted numbers computed by hand (see the comment above)', () => {
    const r = classificationReport(LABELS3, probsFor(PREDICTED3, 3), {
      classes: 3,
      classNames: ['a', 'b', 'c'],
    });
    expect(r.decision).toEqual({ rule: 'argmax' });
    expect(r.confusionMatrix).toEqual([
      [2, 1, 0],
      [2, 2, 0],
      [0, 0, 3],
    ]);
    const expected = [
      { index: 0, name: 'a', precision: 1 / 2, recall: 2 / 3, f1: 4 / 7, support: 3 },
      { index: 1, name: 'b', precision: 2 / 3, recall: 1 / 2, f1: 4 / 7, support: 4 },
      { index: 2, name: 'c', precision: 1, recall: 1, f1: 1, support: 3 },
    ];
    expected.forEach((e, c) => {
      const m = r.perClass[c]!;
      expect(m.index).toBe(e.index);
      expect(m.name).toBe(e.name);
      expect(m.support).toBe(e.support);
      expect(m.precision).toBeCloseTo(e.precision, 12);
      expect(m.recall).toBeCloseTo(e.recall, 12);
      expect(m.f1).toBeCloseTo(e.f1, 12);
    });
    expect(r.accuracy).toBeCloseTo(0.7, 12);
    expect(r.macroAvg.precision).toBeCloseTo(13 / 18, 12);
    expect(r.macroAvg.recall).toBeCloseTo(13 / 18, 12);
    expect(r.macroAvg.f1).toBeCloseTo(5 / 7, 12);
    expect(r.macroAvg.support).toBe(10);
    expect(r.weightedAvg.precision).toBeCloseTo(43 / 60, 12);
    expect(r.weightedAvg.recall).toBeCloseTo(0.7, 12);
    expect(r.weightedAvg.f1).toBeCloseTo(0.7, 12);
    expect(r.weightedAvg.support).toBe(10);
    expect(r.zeroDivision).toEqual([]);
  });

  it("scikit-learn's documented example, numbers and text layout", () => {
    // classification_report([0,1,2,2,2], [0,0,2,2,1], target_names=['class 0','class 1','class 2'])
    const r = classificationReport([0, 1, 2, 2, 2], probsFor([0, 0, 2, 2, 1], 3), {
      classes: 3,
      classNames: ['class 0', 'class 1', 'class 2'],
    });
    expect(formatClassificationReport(r)).toBe(
      [
        '              precision    recall  f1-score   support',
        '',
        '     class 0       0.50      1.00      0.67         1',
        '     class 1       0.00      0.00      0.00         1',
        '     class 2       1.00      0.67      0.80         3',
        '',
        '    accuracy                           0.60         5',
        '   macro avg       0.50      0.56      0.49         5',
        'weighted avg       0.70      0.60      0.61         5',
      ].join('\n'),
    );
    expect(formatClassificationReport(r, { digits: 4 })).toContain('   macro avg     0.5000    0.5556    0.4889         5');
    expect(() => formatClassificationReport(r, { digits: -1 })).toThrow(ConfigError);
  });

  it('zero division: undefined metrics are 0, noted, and still count in the macro average', () => {
    // Class 2 never occurs and is never predicted; class 1 is predicted but has no samples.
    // labels [0,0,0], predicted [0,0,1]:
    //   class 0: precision 2/2 = 1, recall 2/3, F1 2*2/(4+0+1) = 4/5
    //   class 1: precision 0/1 = 0, recall 0/0 -> 0 (noted), F1 0/(0+1+0) = 0 (defined)
    //   class 2: precision, recall, F1 all 0/0 -> 0 (three notes)
    //   macro precision (1 + 0 + 0)/3 = 1/3, recall (2/3)/3 = 2/9, F1 (4/5)/3 = 4/15
    //   weighted = class 0's values (all the support)
    const r = classificationReport([0, 0, 0], probsFor([0, 0, 1], 3), { classes: 3 });
    expect(r.perClass.map((m) => [m.precision, m.recall, m.f1])).toEqual([
      [1, 2 / 3, 4 / 5],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(r.zeroDivision).toHaveLength(4);
    expect(r.zeroDivision[0]).toMatch(/recall of class '1' \(1\): no true samples/);
    expect(r.zeroDivision[1]).toMatch(/precision of class '2' \(2\): no predicted samples/);
    expect(r.zeroDivision[2]).toMatch(/recall of class '2' \(2\)/);
    expect(r.zeroDivision[3]).toMatch(/f1 of class '2' \(2\)/);
    expect(r.macroAvg.precision).toBeCloseTo(1 / 3, 12);
    expect(r.macroAvg.recall).toBeCloseTo(2 / 9, 12);
    expect(r.macroAvg.f1).toBeCloseTo(4 / 15, 12);
    expect(r.weightedAvg.precision).toBe(1);
    expect(r.weightedAvg.recall).toBeCloseTo(2 / 3, 12);
    expect(formatClassificationReport(r)).toMatch(/note: precision of class '2'/);
  });

  it('binary: a threshold on the positive class decides (score >= threshold), not argmax', () => {
    // p(class 1) per sample; labels below.
    const p1 = [0.9, 0.6, 0.5, 0.4, 0.3, 0.2];
    const labels = [1, 1, 1, 1, 0, 0];
    const probs = new Float64Array(p1.flatMap((p) => [1 - p, p]));

    // Default threshold 0.5: predicted [1,1,1,0,0,0]. The third row [0.5, 0.5] is positive
    // (0.5 >= 0.5), where argmax would have picked class 0 (the first on ties).
    const r = classificationReport(labels, probs, { classes: 2, classNames: ['benign', 'malignant'] });
    expect(r.decision).toEqual({ rule: 'threshold', threshold: 0.5, positiveClass: 1 });
    expect(r.confusionMatrix).toEqual([
      [2, 0],
      [1, 3],
    ]);
    expect(r.perClass[1]!.recall).toBeCloseTo(3 / 4, 12);
    expect(formatClassificationReport(r)).toMatch(/decision: 'malignant' when its probability >= 0\.5/);

    // Threshold 0.3: predicted [1,1,1,1,1,0]: recall 1, precision 4/5.
    const low = classificationReport(labels, probs, { classes: 2, threshold: 0.3 });
    expect(low.confusionMatrix).toEqual([
      [1, 1],
      [0, 4],
    ]);
    expect(low.perClass[1]!.precision).toBeCloseTo(4 / 5, 12);

    // positiveClass 0 with threshold 0.75 on p(class 0) = 1 - p1 = [0.1,0.4,0.5,0.6,0.7,0.8]:
    // only 0.8 reaches it -> predicted [1,1,1,1,1,0].
    const neg = classificationReport(labels, probs, { classes: 2, threshold: 0.75, positiveClass: 0 });
    expect(neg.decision).toEqual({ rule: 'threshold', threshold: 0.75, positiveClass: 0 });
    expect(neg.confusionMatrix).toEqual([
      [1, 1],
      [0, 4],
    ]);
  });

  it('rejects bad data with DataError and bad options with ConfigError', () => {
    const probs = probsFor([0, 1], 2);
    expect(() => classificationReport([0, 1, 1], probs, { classes: 2 })).toThrow(
      /expected probs of length 6 \(3 labels x 2 classes, row-major\), got 4/,
    );
    expect(() => classificationReport([0, 2], probs, { classes: 2 })).toThrow(/labels\[1\]: expected 0 or 1, got 2/);
    expect(() => classificationReport([0, 1], new Float32Array([0.5, NaN, 0.5, 0.5]), { classes: 2 })).toThrow(
      /probs\[1\]: expected a finite number, got NaN/,
    );
    expect(() => classificationReport([], new Float32Array(0), { classes: 2 })).toThrow(/expected at least 1 sample, got 0/);
    expect(() => classificationReport([0], new Float32Array(1), { classes: 1 })).toThrow(DataError);
    for (const bad of [
      () => classificationReport([0, 1], probs, { classes: 2, classNames: ['x'] }),
      () => classificationReport([0, 1], probs, { classes: 2, threshold: NaN }),
      () => classificationReport([0, 1], probs, { classes: 2, positiveClass: 2 }),
      () => classificationReport([0, 1], probsFor([0, 1], 3), { classes: 3, threshold: 0.5 }),
    ]) {
      expect(bad).toThrow(ConfigError);
    }
    expect(() => classificationReport([0, 1], probs, { classes: 2, classNames: ['x'] })).toThrow(
      /expected 2 classNames \(one per class\), got 1/,
    );
    expect(() => classificationReport([0, 1], probsFor([0, 1], 3), { classes: 3, threshold: 0.5 })).toThrow(
      /expected classes = 2, got classes = 3/,
    );
  });
});

describe('rocCurve and rocAuc', () => {
  it("scikit-learn's documented example", () => {
    const labels = [0, 0, 1, 1];
    const scores = [0.1, 0.4, 0.35, 0.8];
    expect(rocAuc(labels, scores)).toBe(0.75);
    expect(rocCurve(labels, scores)).toEqual({
      fpr: [0, 0, 0.5, 0.5, 1],
      tpr: [0, 0.5, 0.5, 1, 1],
      thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1],
    });
  });

  it('ties: one point per distinct score, crossed diagonally; AUC counts ties 1/2', () => {
    // Positives score 0.9, 0.5, 0.2; negatives 0.5, 0.2 (P = 3, N = 2).
    //   t = 0.9: tp 1, fp 0 -> (0, 1/3);  t = 0.5: tp 2, fp 1 -> (1/2, 2/3);  t = 0.2: (1, 1)
    // Trapezoids: 1/2 * (1/3 + 2/3)/2 + 1/2 * (2/3 + 1)/2 = 1/4 + 5/12 = 2/3.
    // Mann–Whitney: 0.9 beats both (2), 0.5 ties 0.5 and beats 0.2 (1.5), 0.2 ties 0.2 (0.5): 4/6 = 2/3.
    const labels = [0, 1, 0, 1, 1];
    const scores = [0.5, 0.5, 0.2, 0.9, 0.2];
    const c = rocCurve(labels, scores);
    expect(c.thresholds).toEqual([Infinity, 0.9, 0.5, 0.2]);
    expect(c.fpr).toEqual([0, 0, 0.5, 1]);
    expect(c.tpr.map((x) => x * 3)).toEqual([0, 1, 2, 3]);
    expect(rocAuc(labels, scores)).toBe(2 / 3);
    expect(mannWhitney(labels, scores)).toBe(2 / 3);
  });

  it('all scores tied: the diagonal, AUC 1/2; perfect and reversed rankings: 1 and 0', () => {
    expect(rocCurve([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3])).toEqual({ fpr: [0, 1], tpr: [0, 1], thresholds: [Infinity, 0.3] });
    expect(rocAuc([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(rocAuc([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [4, 3, 2, 1])).toBe(0);
  });

  it('AUC equals the Mann–Whitney U statistic (ties 1/2) on seeded random data, exactly', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const n = 50 + seed * 17;
      const { labels, scores } = randomBinary(seed, n, seed % 2 === 0 ? 7 : 1000);
      expect(rocAuc(labels, scores)).toBe(mannWhitney(labels, scores));
      // The curve's last point is (1, 1) and both rates never decrease.
      const c = rocCurve(labels, scores);
      expect(c.fpr.at(-1)).toBe(1);
      expect(c.tpr.at(-1)).toBe(1);
      for (let i = 1; i < c.fpr.length; i++) {
        expect(c.fpr[i]!).toBeGreaterThanOrEqual(c.fpr[i - 1]!);
        expect(c.tpr[i]!).toBeGreaterThanOrEqual(c.tpr[i - 1]!);
        expect(c.thresholds[i]!).toBeLessThan(c.thresholds[i - 1]!);
      }
      expect(c.thresholds.length).toBe(new Set(scores).size + 1);
    }
  });

  it('accepts typed arrays and depends only on the ranking', () => {
    const { labels, scores } = randomBinary(99, 300, 50);
    const auc = rocAuc(labels, scores);
    expect(rocAuc(new Uint8Array(labels), new Float32Array(scores))).toBe(auc);
    expect(rocAuc(labels, scores.map((s) => 10 * s - 3))).toBe(auc);
    expect(rocAuc(labels, scores.map((s) => -s))).toBeCloseTo(1 - auc, 12);
  });

  it('rejects bad input; one class only names the missing class', () => {
    expect(() => rocAuc([0, 1], [0.5])).toThrow(/expected scores of length 2 \(one per label\), got 1/);
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/labels\[1\]: expected 0 or 1, got 2/);
    expect(() => rocCurve([0, 0.5], [0.1, 0.2])).toThrow(/labels\[1\]: expected 0 or 1, got 0\.5/);
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow(/scores\[1\]: expected a finite number, got NaN/);
    expect(() => rocAuc([0, 1], [Infinity, 0])).toThrow(/scores\[0\]: expected a finite number, got Infinity/);
    expect(() => rocAuc([0, 0, 0], [0.1, 0.2, 0.3])).toThrow(/only one class is present.*got no positives \(label 1\) among 3 labels/);
    expect(() => rocCurve([1, 1], [0.1, 0.2])).toThrow(/rocCurve: .*got no negatives \(label 0\) among 2 labels/);
    expect(() => rocAuc([], [])).toThrow(/got no positives \(label 1\) among 0 labels/);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(DataError);
  });
});

describe('rocAucOvr', () => {
  it('3 classes: the macro mean of one-vs-rest AUCs, computed by hand', () => {
    const labels = [0, 0, 1, 1, 2, 2];
    const probs = [
      [0.7, 0.2, 0.1],
      [0.3, 0.4, 0.3],
      [0.2, 0.6, 0.2],
      [0.5, 0.3, 0.2],
      [0.1, 0.1, 0.8],
      [0.2, 0.5, 0.3],
    ].flat();
    // class 0: positives {0.7, 0.3} vs {0.2, 0.5, 0.1, 0.2}: 4 + 3 = 7 of 8 pairs
    // class 1: positives {0.6, 0.3} vs {0.2, 0.4, 0.1, 0.5}: 4 + 2 = 6 of 8
    // class 2: positives {0.8, 0.3} vs {0.1, 0.3, 0.2, 0.2}: 4 + 3 + 1/2 (tie) = 7.5 of 8
    // macro: (7 + 6 + 7.5) / 8 / 3 = 20.5 / 24
    expect(rocAucOvr(labels, probs, 3)).toBeCloseTo(20.5 / 24, 14);
    expect(rocAucOvr(new Int32Array(labels), new Float32Array(probs), 3)).toBeCloseTo(20.5 / 24, 14);
  });

  it('2 classes with rows [1 - p, p]: equals rocAuc on p', () => {
    const r = rng(7);
    const labels: number[] = [0, 1];
    const p: number[] = [0.25, 0.5];
    for (let i = 0; i < 200; i++) {
      labels.push(r() < 0.5 ? 1 : 0);
      p.push(Math.floor(r() * 16) / 16); // exact in binary, so 1 - p ranks exactly in reverse
    }
    expect(rocAucOvr(labels, p.flatMap((x) => [1 - x, x]), 2)).toBe(rocAuc(labels, p));
  });

  it('a class without samples is named in a DataError; shapes and labels are checked', () => {
    const probs = probsFor([0, 1, 0, 1], 3);
    expect(() => rocAucOvr([0, 1, 0, 1], probs, 3)).toThrow(/class 2 vs rest: .*got no samples of class 2 among 4 labels/);
    expect(() => rocAucOvr([2, 2], probsFor([0, 1], 3), 3)).toThrow(/class 0 vs rest: .*got no samples of class 0/);
    expect(() => rocAucOvr([0, 1, 2], probs, 3)).toThrow(/expected probs of length 9 \(3 labels x 3 classes, row-major\), got 12/);
    expect(() => rocAucOvr([0, 1, 3, 2], probs, 3)).toThrow(/labels\[2\]: expected an integer class in \[0, 2\], got 3/);
    expect(() => rocAucOvr([0, 1], [0.5, 0.5], 1)).toThrow(/expected classes to be an integer >= 2, got 1/);
    expect(() => rocAucOvr([0, 1], [0.5, NaN, 0.5, 0.5], 2)).toThrow(/probs\[1\]: expected a finite number, got NaN/);
  });
});

describe('thresholdForRecall', () => {
  // 10 positives and 5 negatives.
  const pos = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.1];
  const neg = [0.75, 0.55, 0.35, 0.2, 0.05];
  const labels = [...pos.map(() => 1), ...neg.map(() => 0)];
  const scores = [...pos, ...neg];

  it('the largest threshold reaching the target, with recall and precision there', () => {
    // Recall 0.9 needs 9 positives: down to 0.3, where the negatives 0.75, 0.55 and 0.35 are in too.
    expect(thresholdForRecall(labels, scores, 0.9)).toEqual({
      threshold: 0.3,
      recall: 0.9,
      precision: 9 / 12,
      truePositives: 9,
      falsePositives: 3,
      falseNegatives: 1,
      trueNegatives: 2,
    });
    // 0.85 also needs 9 positives (8/10 falls short).
    expect(thresholdForRecall(labels, scores, 0.85).threshold).toBe(0.3);
    // 0.8: 8 positives, down to 0.4; negatives 0.75 and 0.55 are in: precision 8/10.
    const r8 = thresholdForRecall(labels, scores, 0.8);
    expect([r8.threshold, r8.recall, r8.precision]).toEqual([0.4, 0.8, 0.8]);
    // 1: every positive, down to 0.1; negatives above: 0.75, 0.55, 0.35, 0.2.
    const r1 = thresholdForRecall(labels, scores, 1);
    expect([r1.threshold, r1.recall, r1.precision]).toEqual([0.1, 1, 10 / 14]);
    // A tiny target: the top score alone.
    expect(thresholdForRecall(labels, scores, 1e-9).threshold).toBe(0.95);
  });

  it('ties: tied scores are taken together, so the recall reached may exceed the target', () => {
    // Positives 0.8, 0.5, 0.5 and a negative at 0.5. Target 1/2: 0.8 alone gives 1/3; the group at
    // 0.5 brings two positives and the negative at once: recall 1, precision 3/4.
    const r = thresholdForRecall([1, 1, 0, 1], [0.8, 0.5, 0.5, 0.5], 0.5);
    expect(r).toMatchObject({ threshold: 0.5, recall: 1, precision: 0.75, truePositives: 3, falsePositives: 1 });
  });

  it('agrees with brute force on seeded data and with classificationReport at the chosen threshold', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { labels: y, scores: s } = randomBinary(seed * 31, 120, seed % 2 === 0 ? 10 : 500);
      const f32 = new Float32Array(s);
      for (const target of [0.5, 0.9, 0.95, 1]) {
        const r = thresholdForRecall(y, f32, target);
        const positives = y.filter((v) => v === 1).length;
        const recallAt = (t: number): number => y.filter((v, i) => v === 1 && f32[i]! >= t).length / positives;
        expect(recallAt(r.threshold)).toBe(r.recall);
        expect(r.recall).toBeGreaterThanOrEqual(target);
        // No larger distinct score reaches the target.
        for (const t of new Set(f32)) if (t > r.threshold) expect(recallAt(t)).toBeLessThan(target);
        // The report with this threshold on [1 - p, p] rows sees the same recall and precision.
        const probs = new Float32Array(y.length * 2);
        f32.forEach((p, i) => probs.set([1 - p, p], i * 2));
        const report = classificationReport(y, probs, { classes: 2, threshold: r.threshold });
        expect(report.perClass[1]!.recall).toBe(r.recall);
        expect(report.perClass[1]!.precision).toBe(r.precision);
      }
    }
  });

  it('validates the target (ConfigError) and the data (DataError)', () => {
    for (const bad of [0, -0.1, 1.01, NaN]) {
      expect(() => thresholdForRecall(labels, scores, bad)).toThrow(ConfigError);
      expect(() => thresholdForRecall(labels, scores, bad)).toThrow(/expected targetRecall in \(0, 1\], got/);
    }
    expect(() => thresholdForRecall([0, 0], [0.1, 0.2], 0.9)).toThrow(
      /recall is undefined without positives: expected at least one label 1, got none among 2 labels/,
    );
    expect(() => thresholdForRecall([0, 1], [0.1], 0.9)).toThrow(/expected scores of length 2 \(one per label\), got 1/);
    expect(() => thresholdForRecall([0, 2], [0.1, 0.2], 0.9)).toThrow(/labels\[1\]: expected 0 or 1, got 2/);
    expect(() => thresholdForRecall([0, 1], [NaN, 0.2], 0.9)).toThrow(/scores\[0\]: expected a finite number, got NaN/);
    // Only positives is fine: precision is 1 everywhere.
    expect(thresholdForRecall([1, 1], [0.2, 0.4], 0.5)).toMatchObject({ threshold: 0.4, recall: 0.5, precision: 1 });
  });
});

describe('classScores', () => {
  it('takes one column of [n, classes] probabilities; checks its arguments', () => {
    expect(Array.from(classScores([0.1, 0.9, 0.7, 0.3], 2, 1))).toEqual([Math.fround(0.9), Math.fround(0.3)]);
    expect(() => classScores([0.1, 0.9, 0.7], 2, 1)).toThrow(/expected probs of length a multiple of 2/);
    expect(() => classScores([0.1, 0.9], 2, 2)).toThrow(/expected classIndex in \[0, 1\], got 2/);
    expect(() => classScores([0.1, NaN], 2, 0)).toThrow(/probs\[1\]: expected a finite number, got NaN/);
  });
});

describe('MetricAccumulator', () => {
  it('sample-weighted mean loss and accuracy over batches', () => {
    const acc = new MetricAccumulator({ classes: 3 });
    expect(acc.result()).toEqual({ samples: 0, loss: NaN, accuracy: NaN });
    // Batch 1: 2 samples, loss 1.0, both correct. Batch 2: 3 samples, loss 2.0, 1 correct.
    acc.update({ probs: probsFor([0, 1], 3), labels: [0, 1], loss: 1 });
    acc.update({ probs: probsFor([2, 0, 0], 3), labels: new Uint32Array([2, 1, 2]), loss: 2 });
    expect(acc.samples).toBe(5);
    const r = acc.result();
    expect(r.loss).toBeCloseTo((2 * 1 + 3 * 2) / 5, 12);
    expect(r.accuracy).toBeCloseTo(3 / 5, 12);
    expect(r.auc).toBeUndefined();
    acc.reset();
    expect(acc.samples).toBe(0);
  });

  it('without a given loss: the clipped categorical cross-entropy of the probabilities', () => {
    const acc = new MetricAccumulator({ classes: 2 });
    // -ln 0.8, -ln 0.25, and p = 0 clipped to 1e-7: -ln 1e-7.
    acc.update({ probs: new Float64Array([0.2, 0.8, 0.25, 0.75, 1, 0]), labels: [1, 0, 1] });
    expect(acc.result().loss).toBeCloseTo((-Math.log(0.8) - Math.log(0.25) - Math.log(1e-7)) / 3, 10);
    expect(acc.result().accuracy).toBeCloseTo(1 / 3, 12);
  });

  it('keepScores: the epoch AUC equals rocAuc / rocAucOvr over all batches (buffers grow past 256)', () => {
    const r = rng(3);
    const binary = new MetricAccumulator({ classes: 2, keepScores: true });
    const flipped = new MetricAccumulator({ classes: 2, keepScores: true, positiveClass: 0 });
    const labels: number[] = [];
    const p1: number[] = [];
    for (let b = 0; b < 120; b++) {
      const y = [0, 1, r() < 0.5 ? 1 : 0];
      const p = y.map((v) => Math.floor((r() + 0.4 * v) * 8) / 10); // tenths: many ties
      const probs = new Float32Array(p.flatMap((x) => [1 - x, x]));
      binary.update({ probs, labels: y, loss: 0.5 });
      flipped.update({ probs, labels: y, loss: 0.5 });
      probs.fill(-1); // the accumulator copied them
      labels.push(...y);
      p1.push(...p);
    }
    const expected = rocAuc(labels, new Float32Array(p1));
    expect(binary.auc()).toBe(expected);
    expect(binary.result()).toMatchObject({ samples: 360, loss: 0.5, auc: expected });
    // Ranking by p(class 0) with class 0 as positive gives the same AUC (exact in float32 here).
    expect(flipped.auc()).toBeCloseTo(expected, 12);

    const multi = new MetricAccumulator({ classes: 3, keepScores: true });
    const all: number[] = [];
    const ys = [0, 1, 2, 2, 1, 0, 1, 2];
    for (const [i, y] of ys.entries()) {
      const row = [r(), r(), r()];
      multi.update({ probs: row, labels: [y] });
      all.push(...row);
      expect(multi.samples).toBe(i + 1);
    }
    expect(multi.auc()).toBeCloseTo(rocAucOvr(ys, new Float32Array(all), 3), 14);
    multi.reset();
    expect(multi.result()).toEqual({ samples: 0, loss: NaN, accuracy: NaN, auc: NaN });
  });

  it('precisionRecall: the positive class\'s precision and recall (binary), the macro mean (more classes), 0 for an empty denominator', () => {
    // Binary: labels 1,1,0,0,1 predicted 1,0,1,0,1: tp 2, fp 1, fn 1.
    const binary = new MetricAccumulator({ classes: 2, precisionRecall: true });
    binary.update({ probs: probsFor([1, 0, 1, 0], 2), labels: [1, 1, 0, 0], loss: 0 });
    binary.update({ probs: probsFor([1], 2), labels: [1], loss: 0 });
    expect(binary.result()).toMatchObject({ samples: 5, precision: 2 / 3, recall: 2 / 3 });
    expect(binary.classSamples()).toEqual([2, 3]);
    const flipped = new MetricAccumulator({ classes: 2, precisionRecall: true, positiveClass: 0 });
    flipped.update({ probs: probsFor([1, 0, 1, 0, 1], 2), labels: [1, 1, 0, 0, 1], loss: 0 });
    // Class 0: predicted at samples 1 and 3, of which sample 3 is class 0; class 0 has samples 2 and 3.
    expect(flipped.precisionAndRecall()).toEqual({ precision: 1 / 2, recall: 1 / 2 });
    // Three classes: labels 0,1,2,2 predicted 0,2,2,2: per class precision 1, 0 (never predicted), 2/3; recall 1, 0, 1.
    const multi = new MetricAccumulator({ classes: 3, precisionRecall: true });
    multi.update({ probs: probsFor([0, 2, 2, 2], 3), labels: [0, 1, 2, 2], loss: 0 });
    const m = multi.precisionAndRecall();
    expect(m.precision).toBeCloseTo((1 + 0 + 2 / 3) / 3, 14);
    expect(m.recall).toBeCloseTo((1 + 0 + 1) / 3, 14);
    multi.reset();
    expect(multi.result()).toEqual({ samples: 0, loss: NaN, accuracy: NaN, precision: NaN, recall: NaN });
    expect(multi.classSamples()).toEqual([0, 0, 0]);
    const plain = new MetricAccumulator({ classes: 2 });
    expect(() => plain.precisionAndRecall()).toThrow(/expected an accumulator created with precisionRecall: true/);
    expect(() => plain.classSamples()).toThrow(/expected an accumulator created with precisionRecall: true/);
  });

  it('rejects bad batches (adding nothing) and bad options', () => {
    const acc = new MetricAccumulator({ classes: 2, keepScores: true });
    expect(() => acc.update({ probs: [0.5, 0.5, 0.5], labels: [0, 1] })).toThrow(
      /MetricAccumulator.update: expected probs of length 4 \(2 labels x 2 classes, row-major\), got 3/,
    );
    expect(() => acc.update({ probs: [0.5, NaN], labels: [0] })).toThrow(/probs\[1\]: expected a finite number, got NaN/);
    expect(() => acc.update({ probs: [0.5, 0.5], labels: [2] })).toThrow(/labels\[0\]: expected 0 or 1, got 2/);
    expect(() => acc.update({ probs: [0.5, 0.5], labels: [1], loss: NaN })).toThrow(/expected a finite batch loss, got NaN/);
    expect(() => acc.update({ probs: [], labels: [] })).toThrow(/expected at least 1 sample, got 0/);
    expect(acc.samples).toBe(0);
    acc.update({ probs: [0.5, 0.5], labels: [1] });
    expect(() => acc.auc()).toThrow(/got no negatives \(label 0\) among 1 labels/);

    expect(() => new MetricAccumulator({ classes: 2 }).auc()).toThrow(ConfigError);
    expect(() => new MetricAccumulator({ classes: 1 })).toThrow(DataError);
    expect(() => new MetricAccumulator({ classes: 3, positiveClass: 0 })).toThrow(/expected classes = 2, got classes = 3/);
    expect(() => new MetricAccumulator({ classes: 2, positiveClass: 2 })).toThrow(/expected positiveClass 0 or 1, got 2/);
  });
});
