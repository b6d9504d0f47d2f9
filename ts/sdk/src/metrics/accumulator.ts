/**
 * Metrics accumulated over the batches of an epoch, for use during fit or
 * evaluation: sample-weighted mean loss, accuracy, and optionally every
 * score, for an AUC at the end of the epoch.
 */
import { ConfigError, DataError } from '../errors.js';
import { argmaxRows } from './probs.js';
import { rocAuc, rocAucOvr } from './roc.js';
import { checkClasses, checkLabels, checkNotEmpty, checkProbs, type Numbers } from './validate.js';

export interface MetricAccumulatorOptions {
  /** Number of classes: columns of each batch's `probs`. */
  classes: number;
  /** Keep every batch's probabilities and labels so that `auc()` can be computed. Default false. */
  keepScores?: boolean;
  /** Binary problems (classes = 2): the class whose probability `auc()` ranks by. Default 1. */
  positiveClass?: number;
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
  #samples = 0;
  #lossSum = 0;
  #correct = 0;
  #probs = new Float32Array(0);
  #labels = new Int32Array(0);

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

  /** Loss, accuracy, and the AUC when scores are kept. */
  result(): AccumulatedMetrics {
    const samples = this.#samples;
    const out: AccumulatedMetrics = {
      samples,
      loss: samples === 0 ? NaN : this.#lossSum / samples,
      accuracy: samples === 0 ? NaN : this.#correct / samples,
    };
    if (this.keepScores) out.auc = samples === 0 ? NaN : this.auc();
    return out;
  }

  /** Forgets every batch; kept buffers are reused. */
  reset(): void {
    this.#samples = 0;
    this.#lossSum = 0;
    this.#correct = 0;
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
