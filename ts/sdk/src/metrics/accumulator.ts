/**
 * Metrics accumulated over the batches of an epoch, for use during fit or
 * evaluation: sample-weighted mean loss, accuracy, and optionally every
 * score, for an AUC at the end of the epoch.
 */
import { ConfigError, DataError } from '../errors.js';
import { classOutcome } from './confusion.js';
import { argmaxRows } from './probs.js';
import { rocAuc, rocAucOvr } from './roc.js';
import { checkClasses, checkLabels, checkNotEmpty, checkProbs, type Numbers } from './validate.js';

export interface MetricAccumulatorOptions {
  /** Number of classes: columns of each batch's `probs`. */
  classes: number;
  /** Keep every batch's probabilities and labels so that `auc()` can be computed. Default false. */
  keepScores?: boolean;
  /** Binary problems (classes = 2): the class whose probability `auc()` ranks by, and whose precision and recall `result()` gives. Default 1. */
  positiveClass?: number;
  /**
   * Count predictions per (label, predicted class) so that `result()` gives
   * precision and recall: the positive class's for binary problems, the
   * unweighted mean over classes for more (scikit-learn's `average='macro'`).
   * Default false.
   */
  precisionRecall?: boolean;
}

export interface MetricBatch {
  /** Probabilities `[batch, classes]`, row-major; copied when scores are kept. */
  probs: Numbers;
  /** One class index per row of `probs`. */
  labels: Numbers;
  /**
   * The batch's mean loss. Default: the mean categorical cross-entropy of
   * `probs`, each probability clipped to [1e-7, 1 - 1e-7] (as Keras).
   */
  loss?: number;
}

export interface AccumulatedMetrics {
  /** Samples seen since the last reset. */
  samples: number;
  /** Mean loss per sample (batch losses weighted by batch size); NaN before any batch. */
  loss: number;
  /** Fraction of samples whose argmax is the label; NaN before any batch. */
  accuracy: number;
  /** Present when scores are kept: rocAuc (binary) or rocAucOvr (more classes); NaN before any batch. */
  auc?: number;
  /**
   * Present with `precisionRecall`: of the samples predicted as a class, the
   * fraction that are of it (0 when none are predicted as it, as Keras and
   * scikit-learn count it); NaN before any batch.
   */
  precision?: number;
  /** Present with `precisionRecall`: of a class's samples, the fraction predicted as it (0 when it has none); NaN before any batch. */
  recall?: number;
}

const EPSILON = 1e-7;

/**
 * Accumulates a running epoch: call `update` per batch, `result` at the end,
 * `reset` before the next epoch. Kept scores grow by doubling (no allocation
 * per batch once the epoch size is reached).
 */
export class MetricAccumulator {
  readonly classes: number;
  readonly keepScores: boolean;
  readonly positiveClass: number;
  readonly precisionRecall: boolean;
  #samples = 0;
  #lossSum = 0;
  #correct = 0;
  #probs = new Float32Array(0);
  #labels = new Int32Array(0);
  /** The confusion matrix `[label][predicted]` (with `precisionRecall`; else empty). */
  #pairs: number[][];

  constructor(options: MetricAccumulatorOptions) {
    checkClasses('MetricAccumulator', options.classes);
    const pc = options.positiveClass ?? 1;
    if (options.positiveClass !== undefined && options.classes !== 2) {
      throw new ConfigError(
        'MetricAccumulator: positiveClass applies to binary problems: ' +
          `expected classes = 2, got classes = ${options.classes}`,
      );
    }
    if (pc !== 0 && pc !== 1) {
      throw new ConfigError(`MetricAccumulator: expected positiveClass 0 or 1, got ${String(pc)}`);
    }
    this.classes = options.classes;
    this.keepScores = options.keepScores ?? false;
    this.positiveClass = pc;
    this.precisionRecall = options.precisionRecall ?? false;
    this.#pairs = this.precisionRecall ? Array.from({ length: this.classes }, () => new Array<number>(this.classes).fill(0)) : [];
  }

  /** Samples seen since the last reset. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds one batch. Throws DataError on invalid data (nothing is added then). */
  update(batch: MetricBatch): void {
    const where = 'MetricAccumulator.update';
    const { probs, labels } = batch;
    const k = this.classes;
    checkNotEmpty(where, labels);
    checkProbs(where, probs, labels.length, k);
    checkLabels(where, 'labels', labels, k);
    if (batch.loss !== undefined && !Number.isFinite(batch.loss)) {
      throw new DataError(`${where}: expected a finite batch loss, got ${String(batch.loss)}`);
    }
    const n = labels.length;
    const predicted = argmaxRows(probs, k);
    let correct = 0;
    let crossEntropy = 0;
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      if (predicted[i] === label) correct++;
      if (this.precisionRecall) this.#pairs[label]![predicted[i]!]!++;
      if (batch.loss === undefined) {
        const p = Math.min(Math.max(probs[i * k + label]!, EPSILON), 1 - EPSILON);
        crossEntropy -= Math.log(p);
      }
    }
    if (this.keepScores) this.#keep(probs, labels);
    this.#lossSum += batch.loss === undefined ? crossEntropy : batch.loss * n;
    this.#correct += correct;
    this.#samples += n;
  }

  /** The AUC of the kept scores; ConfigError unless `keepScores`, DataError if a class is missing. */
  auc(): number {
    if (!this.keepScores) {
      throw new ConfigError(
        'MetricAccumulator.auc: expected an accumulator created with keepScores: true, got keepScores: false',
      );
    }
    const n = this.#samples;
    const probs = this.#probs.subarray(0, n * this.classes);
    const labels = this.#labels.subarray(0, n);
    if (this.classes > 2) return rocAucOvr(labels, probs, this.classes);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) scores[i] = probs[i * 2 + this.positiveClass]!;
    const positives = this.positiveClass === 1 ? labels : labels.map((y) => 1 - y);
    return rocAuc(positives, scores);
  }

  /** Samples of each class seen since the last reset (with `precisionRecall`, else ConfigError). */
  classSamples(): number[] {
    this.#requireCounts('classSamples');
    return this.#pairs.map((_, c) => classOutcome(this.#pairs, c).support);
  }

  /** Precision and recall from the counted pairs (see `AccumulatedMetrics`; with `precisionRecall`, else ConfigError). */
  precisionAndRecall(): { precision: number; recall: number } {
    this.#requireCounts('precisionAndRecall');
    if (this.#samples === 0) return { precision: NaN, recall: NaN };
    const k = this.classes;
    if (k === 2) {
      const { precision, recall } = classOutcome(this.#pairs, this.positiveClass);
      return { precision, recall };
    }
    const outcomes = this.#pairs.map((_, c) => classOutcome(this.#pairs, c));
    return { precision: outcomes.reduce((a, o) => a + o.precision, 0) / k, recall: outcomes.reduce((a, o) => a + o.recall, 0) / k };
  }

  #requireCounts(method: string): void {
    if (!this.precisionRecall) {
      throw new ConfigError(`MetricAccumulator.${method}: expected an accumulator created with precisionRecall: true, got precisionRecall: false`);
    }
  }

  /** Loss, accuracy, the AUC when scores are kept, precision and recall when counted. */
  result(): AccumulatedMetrics {
    const samples = this.#samples;
    const out: AccumulatedMetrics = {
      samples,
      loss: samples === 0 ? NaN : this.#lossSum / samples,
      accuracy: samples === 0 ? NaN : this.#correct / samples,
    };
    if (this.keepScores) out.auc = samples === 0 ? NaN : this.auc();
    if (this.precisionRecall) Object.assign(out, this.precisionAndRecall());
    return out;
  }

  /** Forgets every batch; kept buffers are reused. */
  reset(): void {
    this.#samples = 0;
    this.#lossSum = 0;
    this.#correct = 0;
    for (const row of this.#pairs) row.fill(0);
  }

  #keep(probs: Numbers, labels: Numbers): void {
    const n = this.#samples;
    const need = n + labels.length;
    if (need > this.#labels.length) {
      const capacity = Math.max(need, 2 * this.#labels.length, 256);
      const grownProbs = new Float32Array(capacity * this.classes);
      grownProbs.set(this.#probs.subarray(0, n * this.classes));
      const grownLabels = new Int32Array(capacity);
      grownLabels.set(this.#labels.subarray(0, n));
      this.#probs = grownProbs;
      this.#labels = grownLabels;
    }
    this.#probs.set(probs, n * this.classes);
    this.#labels.set(labels, n);
  }
}
