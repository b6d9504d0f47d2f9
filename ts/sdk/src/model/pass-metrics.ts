/**
 * The metrics `compile({ metrics })` can name, and those beyond accuracy (the
 * AUC, precision and recall) accumulated over one pass: an epoch of training
 * or one evaluation. Accuracy comes from the step itself; these need every
 * output of the pass, which is read after each step from the executor.
 *
 * Semantics (Keras' `AUC`, `Precision`, `Recall` at their 0.5 threshold):
 * - a binary model (two softmax units, or one sigmoid unit) is scored on its
 *   positive class, class 1: the ROC AUC of its probability, and precision
 *   and recall of the predicted class (arg-max; for one sigmoid unit, p > 0.5);
 * - a model of more classes gets the one-vs-rest macro AUC and macro precision
 *   and recall (scikit-learn's `average='macro'`; Keras' own `Precision`
 *   micro-averages one-hot labels, which with arg-max predictions is just
 *   accuracy);
 * - dense targets (categorical labels, MixUp/CutMix rows) count as their
 *   largest entry's class (a sigmoid target as positive above 0.5), as the
 *   step's accuracy does;
 * - the AUC of a pass that lacks a class is NaN (undefined, not a number to
 *   compare), as is every metric of a pass without samples.
 */
import { ConfigError } from '../errors.js';
import { MetricAccumulator } from '../metrics/accumulator.js';
import { argmaxRows } from '../metrics/probs.js';
import type { Numbers } from '../metrics/validate.js';
import type { Logs } from './history.js';

export const METRIC_NAMES = ['accuracy', 'auc', 'precision', 'recall'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The metrics a pass accumulates (accuracy is the step's). */
type PassMetricName = Exclude<MetricName, 'accuracy'>;

/** `compile`'s `metrics`: known names, each once. */
export function resolveMetrics(metrics: unknown): MetricName[] {
  if (metrics === undefined) return [];
  if (!Array.isArray(metrics)) throw new ConfigError(`compile: metrics must be an array of metric names (${METRIC_NAMES.join(', ')}), got ${JSON.stringify(metrics)}`);
  const seen = new Set<MetricName>();
  for (const m of metrics) {
    if (!METRIC_NAMES.includes(m)) throw new ConfigError(`compile: unknown metric ${JSON.stringify(m)}, expected one of ${METRIC_NAMES.join(', ')}`);
    if (seen.has(m)) throw new ConfigError(`compile: metric '${m}' is listed twice`);
    seen.add(m);
  }
  return [...seen];
}

export class PassMetrics {
  private readonly acc: MetricAccumulator;

  private constructor(
    private readonly names: readonly PassMetricName[],
    /** Output units per sample: 1 (sigmoid) or the classes (softmax). */
    private readonly outputs: number,
  ) {
    this.acc = new MetricAccumulator({ classes: Math.max(2, outputs), keepScores: names.includes('auc'), precisionRecall: true });
  }

  /** The pass's accumulator, or undefined when the model reports the step's accuracy only. */
  static create(metrics: readonly MetricName[], outputs: number): PassMetrics | undefined {
    const names = metrics.filter((m): m is PassMetricName => m !== 'accuracy');
    return names.length ? new PassMetrics(names, outputs) : undefined;
  }

  /** Adds a batch: the model's outputs `[batch, outputs]` and the step's targets (class indices or dense rows). */
  add(outputs: Float32Array, targets: Uint32Array | Float32Array): void {
    const k = this.outputs;
    this.acc.update({ probs: k === 1 ? sigmoidRows(outputs) : outputs, labels: targetLabels(targets, k), loss: 0 });
  }

  /** The pass's metrics as log entries, keys prefixed (`val_` for validation). */
  logs(prefix = ''): Logs {
    const complete = this.acc.classSamples().every((n) => n > 0);
    const values: Record<PassMetricName, number> = {
      auc: this.acc.keepScores && complete ? this.acc.auc() : NaN,
      ...this.acc.precisionAndRecall(),
    };
    return Object.fromEntries(this.names.map((m) => [prefix + m, values[m]]));
  }
}

/** One sigmoid probability per row as the two columns `[1 - p, p]`. */
function sigmoidRows(p: Float32Array): Float32Array {
  const rows = new Float32Array(p.length * 2);
  for (let i = 0; i < p.length; i++) {
    rows[2 * i] = 1 - p[i]!;
    rows[2 * i + 1] = p[i]!;
  }
  return rows;
}

/** The class each target stands for: a class index as it is; a dense row, its largest entry's (the first on ties); one sigmoid target, 1 above 0.5. */
function targetLabels(t: Uint32Array | Float32Array, k: number): Numbers {
  if (!(t instanceof Float32Array)) return t;
  return k === 1 ? t.map((v) => (v > 0.5 ? 1 : 0)) : argmaxRows(t, k);
}
