/**
 * Callbacks follow Keras' names and order of events. `fit` sets `model`
 * before `onTrainBegin`; a callback stops training by setting
 * `model.stopTraining = true`.
 */
import type { Logs } from '../model/history.js';
import type { Optimizer } from '../model/optimizers.js';

/** What a callback may use of the model being trained. */
export interface TrainingModel {
  stopTraining: boolean;
  readonly optimizer: Optimizer;
  /** A copy of every weight and state tensor, by name. */
  getWeights(): Map<string, Float32Array>;
  setWeights(weights: Map<string, Float32Array>): void;
  /** The model file's bytes (topology, weights, and optimizer state when asked). */
  toBytes(opts?: { includeOptimizer?: boolean }): Uint8Array;
  /** The optimizer's moments and step count, as `toBytes` saves them. */
  optimizerState(): { slot1: Float32Array; slot2: Float32Array; step: number };
  setOptimizerState(state: { slot1: Float32Array; slot2: Float32Array; step: number }): void;
}

/** Progress of fit, for terminal bars and web pages alike. */
export interface TrainingProgress {
  epoch: number;
  epochs: number;
  /** Batch index within the epoch and batches per epoch. */
  batch: number;
  batches: number;
  /** Global optimizer step (1-based). */
  step: number;
  samplesPerSecond: number;
  learningRate: number;
  logs: Logs;
}

export abstract class Callback {
  model!: TrainingModel;
  /**
   * Before `onTrainBegin`: a callback that restores training from a backup
   * (BackupAndRestore) returns the epochs it holds, and `fit` starts at the
   * larger of that and its `initialEpoch`.
   */
  onTrainRestore?(): number | Promise<number>;
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  /** `logs` holds the epoch's metrics (`loss`, `accuracy`, those named at compile such as `auc`, their `val_` twins, `lr`). */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  /** `logs` holds running means over the epoch so far. */
  onBatchEnd?(batch: number, logs: Logs, progress: TrainingProgress): void | Promise<void>;
  /** An evaluation inside an epoch (`evaluateEvery`), with `val_*` logs. */
  onEvaluation?(step: number, logs: Logs): void | Promise<void>;
}

/** Calls every callback's hook in order, awaiting each. */
export class CallbackList {
  constructor(private readonly callbacks: readonly Callback[]) {}

  setModel(model: TrainingModel): void {
    for (const c of this.callbacks) c.model = model;
  }

  /** The epoch a restoring callback resumes at (0 when none restores). */
  async trainRestore(): Promise<number> {
    let epoch = 0;
    for (const c of this.callbacks) epoch = Math.max(epoch, (await c.onTrainRestore?.()) ?? 0);
    return epoch;
  }
  async trainBegin(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainBegin?.(logs);
  }
  async trainEnd(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainEnd?.(logs);
  }
  async epochBegin(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochBegin?.(epoch, logs);
  }
  async epochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochEnd?.(epoch, logs);
  }
  async batchBegin(batch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onBatchBegin?.(batch, logs);
  }
  async batchEnd(batch: number, logs: Logs, progress: TrainingProgress): Promise<void> {
    for (const c of this.callbacks) await c.onBatchEnd?.(batch, logs, progress);
  }
  async evaluation(step: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEvaluation?.(step, logs);
  }
}
