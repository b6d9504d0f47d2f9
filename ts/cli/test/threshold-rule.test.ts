/**
 * --threshold-rule: 'recall' is thresholdForRecall's largest threshold
 * reaching the target; 'floor' keeps 0.5 when the recall there already
 * reaches it and otherwise lowers the threshold, never raises it.
 */
import { describe, expect, it } from 'vitest';
import { recallThreshold } from '../src/train/threshold-rule.js';

// 10 positives, 4 negatives: an "easy" validation split, perfectly separated at 0.5.
const labels = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
const easy = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.6, 0.4, 0.3, 0.2, 0.1];
// A hard one: three positives score below 0.5, one negative above.
const hard = [0.9, 0.8, 0.7, 0.65, 0.6, 0.55, 0.52, 0.45, 0.35, 0.3, 0.7, 0.2, 0.1, 0.05];

describe('recallThreshold', () => {
  it("'recall' raises the threshold to the 9th positive's score on an easy split, giving up a positive", () => {
    const r = recallThreshold(labels, easy, 0.9, 'recall');
    expect(r).toMatchObject({ threshold: 0.91, recall: 0.9, precision: 1, truePositives: 9, falseNegatives: 1, falsePositives: 0, trueNegatives: 4 });
  });

  it("'floor' keeps 0.5 there: every positive found, the negatives still below", () => {
    const r = recallThreshold(labels, easy, 0.9, 'floor');
    expect(r).toEqual({ threshold: 0.5, recall: 1, precision: 1, truePositives: 10, falsePositives: 0, falseNegatives: 0, trueNegatives: 4 });
  });

  it("'floor' lowers the threshold like 'recall' when 0.5 misses the target", () => {
    // At 0.5: 7 of 10 positives (0.7 < 0.9); the 9th positive scores 0.35.
    const floor = recallThreshold(labels, hard, 0.9, 'floor');
    expect(floor).toEqual(recallThreshold(labels, hard, 0.9, 'recall'));
    expect(floor).toMatchObject({ threshold: 0.35, recall: 0.9, truePositives: 9, falsePositives: 1 });
  });

  it("'floor' at exactly the target at 0.5 keeps 0.5; a precision without positive predictions is 0", () => {
    // 7 of 10 positives at >= 0.5: a 0.7 target is met there, 'recall' would go up to 0.52.
    expect(recallThreshold(labels, hard, 0.7, 'recall').threshold).toBe(0.52);
    expect(recallThreshold(labels, hard, 0.7, 'floor')).toMatchObject({ threshold: 0.5, recall: 0.7, truePositives: 7, falsePositives: 1 });
  });

  it('rejects an unknown rule and passes on thresholdForRecall\'s errors', () => {
    expect(() => recallThreshold(labels, easy, 0.9, 'median' as never)).toThrow(/threshold rule must be one of recall, floor, got median/);
    expect(() => recallThreshold([0, 0], [0.2, 0.7], 0.9, 'floor')).toThrow(/without positives/);
    expect(() => recallThreshold(labels, easy, 1.5, 'floor')).toThrow(/targetRecall in \(0, 1\]/);
  });
});
