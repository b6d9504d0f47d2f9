/**
 * EarlyStopping (Keras 3 semantics): stop when the monitored value has not
 * improved for `patience` epochs, optionally putting back the best weights.
 */
import { ConfigError } from '../errors.js';
import type { Logs } from '../model/history.js';
import { Callback } from './callback.js';
import { nonNegative, nonNegativeInt } from '../checks.js';
import { checkMonitor, improves, MonitorReader, resolveMode, type MonitorMode } from './monitor.js';

export interface EarlyStoppingArgs {
  /** Log key to watch. Default 'val_loss'. */
  monitor?: string;
  /** 'auto' (default): 'max' for names containing 'acc'/'auc', else 'min'. */
  mode?: MonitorMode;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** A change smaller than this is no improvement. Default 0. */
  minDelta?: number;
  /**
   * Keep a copy of the weights of the best epoch and set them back when
   * training ends — whether it stopped early or ran all its epochs. Default false.
   */
  restoreBestWeights?: boolean;
  /** Training stops unless the monitored value beats this within `patience` epochs. */
  baseline?: number;
  /** Epochs to wait before watching at all (warm-up). Default 0. */
  startFromEpoch?: number;
}

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  readonly baseline: number | undefined;
  readonly startFromEpoch: number;
  /** The (0-based) epoch at which training was stopped; 0 when it was not (as Keras). */
  stoppedEpoch = 0;
  /** The best monitored value so far and its epoch. */
  best: number | undefined;
  bestEpoch = 0;
  /** Epochs since the last improvement. */
  wait = 0;
  private bestWeights: Map<string, Float32Array> | undefined;
  private readonly reader: MonitorReader;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    const where = 'EarlyStopping';
    this.monitor = checkMonitor(args.monitor ?? 'val_loss', where);
    this.mode = resolveMode(this.monitor, args.mode, where);
    this.patience = nonNegativeInt(args.patience ?? 0, 'patience', where);
    this.minDelta = nonNegative(args.minDelta ?? 0, 'minDelta', where);
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    if (args.baseline !== undefined && !Number.isFinite(args.baseline)) throw new ConfigError(`${where}: baseline must be a finite number, got ${args.baseline}`);
    this.baseline = args.baseline;
    this.startFromEpoch = nonNegativeInt(args.startFromEpoch ?? 0, 'startFromEpoch', where);
    this.reader = new MonitorReader(this.monitor, 'EarlyStopping');
  }

  override onTrainBegin(): void {
    // Reset so one instance can serve several fits, as in Keras.
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = undefined;
    this.bestEpoch = 0;
    this.bestWeights = undefined;
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const current = this.reader.read(logs);
    if (current === undefined || epoch < this.startFromEpoch) return;
    // The first watched epoch's weights are the best known until something beats them.
    if (this.restoreBestWeights && this.bestWeights === undefined) {
      this.bestWeights = this.model.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait++;
    if (this.best === undefined || improves(this.mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = this.model.getWeights();
      // An improvement only resets the wait once it also beats the baseline.
      if (this.baseline === undefined || improves(this.mode, current, this.baseline, this.minDelta)) this.wait = 0;
      return;
    }
    // Keras never stops after the very first epoch, whatever the patience.
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }

  override onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights !== undefined) this.model.setWeights(this.bestWeights);
  }
}
