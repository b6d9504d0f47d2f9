/**
 * `--patience`: Keras' EarlyStopping on val_loss with restoreBestWeights,
 * able to continue a resumed run with the counters it had at the epoch
 * boundary (the SDK resets them when training begins, as Keras does).
 */
import { EarlyStopping } from '@lite-cnn/sdk';
import type { RunState } from './checkpoints.js';

export class ResumableEarlyStopping extends EarlyStopping {
  constructor(
    patience: number,
    private readonly resumeFrom: RunState['earlyStopping'],
    startFromEpoch = 0,
  ) {
    super({ monitor: 'val_loss', patience, restoreBestWeights: true, startFromEpoch });
  }

  override onTrainBegin(): void {
    super.onTrainBegin();
    if (this.resumeFrom) {
      this.best = this.resumeFrom.best ?? undefined;
      this.bestEpoch = this.resumeFrom.bestEpoch;
      this.wait = this.resumeFrom.wait;
    }
  }

  snapshot(): NonNullable<RunState['earlyStopping']> {
    return { best: this.best ?? null, bestEpoch: this.bestEpoch, wait: this.wait };
  }
}
