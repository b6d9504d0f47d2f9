/**
 * ReduceLROnPlateau (Keras semantics): multiply the learning rate by `factor`
 * after `patience` epochs without improvement, then hold off for `cooldown`
 * epochs so the new rate has time to show its effect.
 */
import { ConfigError } from '../errors.js';
import type { Logs } from '../model/history.js';
import { Callback } from './callback.js';
import { nonNegative, nonNegativeInt } from '../checks.js';
import { checkMonitor, improves, MonitorReader, resolveMode, type MonitorMode } from './monitor.js';

export interface ReduceLROnPlateauArgs {
  /** Default 'val_loss'. */
  monitor?: string;
  /** new lr = lr · factor; in (0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement before a reduction. Default 10. */
  patience?: number;
  /** 'auto' (default): 'max' for names containing 'acc'/'auc', else 'min'. */
  mode?: MonitorMode;
  /** A change smaller than this is no improvement. Default 1e-4. */
  minDelta?: number;
  /** Epochs after a reduction during which no waiting is counted. Default 0. */
  cooldown?: number;
  /** The learning rate never goes below this. Default 0. */
  minLr?: number;
}

export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  best: number;
  wait = 0;
  cooldownCounter = 0;
  private readonly reader: MonitorReader;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    super();
    const where = 'ReduceLROnPlateau';
    this.monitor = checkMonitor(args.monitor ?? 'val_loss', where);
    const factor = args.factor ?? 0.1;
    // factor >= 1 would never reduce; Keras rejects it too.
    if (!(factor > 0 && factor < 1)) throw new ConfigError(`${where}: factor must be in (0, 1), got ${factor}`);
    this.factor = factor;
    this.patience = nonNegativeInt(args.patience ?? 10, 'patience', where);
    this.mode = resolveMode(this.monitor, args.mode, where);
    this.minDelta = nonNegative(args.minDelta ?? 1e-4, 'minDelta', where);
    this.cooldown = nonNegativeInt(args.cooldown ?? 0, 'cooldown', where);
    this.minLr = nonNegative(args.minLr ?? 0, 'minLr', where);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.reader = new MonitorReader(this.monitor, 'ReduceLROnPlateau');
  }

  override onTrainBegin(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.cooldownCounter = 0;
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    const current = this.reader.read(logs);
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    if (improves(this.mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter === 0) {
      this.wait++;
      if (this.wait >= this.patience) {
        const lr = this.model.optimizer.learningRate;
        if (lr > this.minLr) {
          this.model.optimizer.learningRate = Math.max(lr * this.factor, this.minLr);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }
}
