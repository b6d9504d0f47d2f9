/**
 * TerminateOnNaN (Keras): stop training as soon as a batch's loss is NaN or
 * infinite. fit then ends the epoch quietly (keeping the weights from before
 * the bad step) instead of throwing. A non-finite `grad_norm` in the batch logs
 * counts too: the executor can skip a step whose gradients overflowed while
 * the loss itself was still finite.
 */
import type { Logs } from '../model/history.js';
import { Callback } from './callback.js';

export class TerminateOnNaN extends Callback {
  /** Where training was stopped, if it was (epoch and batch 0-based). */
  stoppedAt: { epoch: number; batch: number; loss: number } | undefined;
  private epoch = 0;

  override onTrainBegin(): void {
    this.stoppedAt = undefined;
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override onBatchEnd(batch: number, logs: Logs): void {
    const loss = logs.loss;
    const gradNorm = logs.grad_norm;
    if ((loss !== undefined && !Number.isFinite(loss)) || (gradNorm !== undefined && !Number.isFinite(gradNorm))) {
      this.stoppedAt = { epoch: this.epoch, batch, loss: loss ?? Number.NaN };
      this.model.stopTraining = true;
    }
  }
}
