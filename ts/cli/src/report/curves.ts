/** Learning-curve charts (loss, accuracy, learning rate) from a training History. */
import { lineChart, type LineSeries } from './line-chart.js';
import { paletteColor } from './svg.js';

/**
 * What the charts read from a History: the SDK's `History` fits as is, and a
 * History rebuilt from `history.csv` (e.g. after `--resume`) can too.
 */
export interface HistoryLike {
  /** Epoch indices, 0-based as fit records them; point i is plotted at epoch[i] + 1 (the end of that epoch). */
  readonly epoch: readonly number[];
  /** Per-epoch logs: loss, accuracy, val_loss, val_accuracy, lr. */
  readonly history: Readonly<Record<string, readonly number[]>>;
  /** Mid-epoch evaluations (fit's `evaluateEvery`): global step (1-based), epoch and logs. */
  readonly steps?: readonly { readonly step: number; readonly epoch: number; readonly logs: Readonly<Record<string, number>> }[];
}

export interface LearningCurveOptions {
  /**
   * Optimizer steps per epoch (ceil(train size / batch size)). Needed to place
   * mid-epoch evaluations on the epoch axis (x = step / stepsPerEpoch); they
   * are left out without it, rather than drawn at guessed positions.
   */
  stepsPerEpoch?: number;
}

export interface LearningCurveCharts {
  /** Train and validation loss; undefined when the history has no loss. */
  loss?: string;
  /** Train and validation accuracy; undefined when the history has no accuracy. */
  accuracy?: string;
  /** The learning rate per epoch; only when it changed during training (a schedule or ReduceLROnPlateau). */
  lr?: string;
}

const TRAIN = paletteColor(0);
const VALIDATION = paletteColor(1);

function epochSeries(h: HistoryLike, key: string): [number, number][] {
  const values = h.history[key] ?? [];
  const out: [number, number][] = [];
  for (let i = 0; i < values.length; i++) out.push([(h.epoch[i] ?? i) + 1, values[i]!]);
  return out;
}

function stepSeries(h: HistoryLike, key: string, stepsPerEpoch: number | undefined): [number, number][] {
  if (stepsPerEpoch === undefined || !(stepsPerEpoch > 0)) return [];
  const out: [number, number][] = [];
  for (const s of h.steps ?? []) {
    const v = s.logs[key];
    if (v !== undefined) out.push([s.step / stepsPerEpoch, v]);
  }
  return out;
}

function metricChart(h: HistoryLike, key: string, title: string, yLabel: string, options: LearningCurveOptions): string | undefined {
  const train = epochSeries(h, key);
  const val = epochSeries(h, `val_${key}`);
  const trainSteps = stepSeries(h, key, options.stepsPerEpoch);
  const valSteps = stepSeries(h, `val_${key}`, options.stepsPerEpoch);
  if (train.length + val.length + trainSteps.length + valSteps.length === 0) return undefined;
  const series: LineSeries[] = [];
  // Fixed colours per role (not per position) so "validation" is the same colour with or without train data.
  if (train.length) series.push({ name: 'train', points: train, color: TRAIN });
  if (val.length) series.push({ name: 'validation', points: val, color: VALIDATION });
  // Mid-epoch train values are running means since the epoch began (what the progress bar shows).
  if (trainSteps.length) series.push({ name: 'train (running, mid-epoch)', points: trainSteps, color: TRAIN, dashed: true });
  if (valSteps.length) series.push({ name: 'validation (mid-epoch)', points: valSteps, color: VALIDATION, dashed: true });
  return lineChart({
    title,
    xLabel: 'Epoch',
    yLabel,
    series,
    // Epochs start at 0 so the first epoch's point is not on the left edge.
    xRange: [0, 1],
    // Accuracy: the axis always reaches 1, so the gap to a perfect score is visible.
    ...(key === 'accuracy' ? { yRange: [1, 1] as const } : {}),
  });
}

/** The learning-curve charts of `history` as SVG strings. */
export function learningCurveCharts(history: HistoryLike, options: LearningCurveOptions = {}): LearningCurveCharts {
  const out: LearningCurveCharts = {};
  const loss = metricChart(history, 'loss', 'Loss', 'Loss', options);
  if (loss !== undefined) out.loss = loss;
  const accuracy = metricChart(history, 'accuracy', 'Accuracy', 'Accuracy', options);
  if (accuracy !== undefined) out.accuracy = accuracy;
  const lr = epochSeries(history, 'lr');
  if (lr.length > 1 && lr.some((p) => p[1] !== lr[0]![1])) {
    out.lr = lineChart({ title: 'Learning rate', xLabel: 'Epoch', yLabel: 'Learning rate', series: [{ name: 'learning rate', points: lr, color: paletteColor(2) }], xRange: [0, 1] });
  }
  return out;
}
