/**
 * LearningRateScheduler (Keras): at the start of every epoch the learning rate
 * becomes `schedule(epoch, currentLr)`. See ./schedules.ts for ready-made ones.
 */
import { ConfigError } from '../errors.js';
import { Callback } from './callback.js';

/** `epoch` is 0-based; `lr` is the learning rate in effect now. */
export type Schedule = (epoch: number, lr: number) => number;

export class LearningRateScheduler extends Callback {
  constructor(readonly schedule: Schedule) {
    super();
    if (typeof schedule !== 'function') throw new ConfigError(`LearningRateScheduler: expected a schedule function (epoch, lr) => number, got ${typeof schedule}`);
  }

  override onEpochBegin(epoch: number): void {
    const lr = this.model.optimizer.learningRate;
    const next = this.schedule(epoch, lr);
    // Checked here so the message names the schedule and epoch, not just the optimizer setter.
    if (typeof next !== 'number' || !Number.isFinite(next) || next < 0) {
      throw new ConfigError(`LearningRateScheduler: schedule(epoch ${epoch}, lr ${lr}) returned ${String(next)}; expected a finite number >= 0`);
    }
    this.model.optimizer.learningRate = next;
  }
}
