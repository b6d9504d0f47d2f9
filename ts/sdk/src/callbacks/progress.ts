/**
 * ProgressLogger: turns fit's hooks into one typed stream of plain-data
 * events, for a terminal progress bar or a web page (`postMessage(event)` —
 * every event is structured-cloneable). The SDK prints nothing itself.
 * Batch events are throttled so a fast loop does not flood a UI.
 */
import { ConfigError } from '../errors.js';
import type { Logs } from '../model/history.js';
import { Callback, type TrainingProgress } from './callback.js';

export type ProgressEvent =
  /** After a batch: running means over the epoch so far (`logs`), throughput and position. */
  | ({ type: 'batch' } & TrainingProgress)
  /** After an epoch: its final logs (with `val_*` when validating). */
  | { type: 'epoch'; epoch: number; epochs: number; batches: number; seconds: number; logs: Logs }
  /** An evaluation inside an epoch (fit's `evaluateEvery`). */
  | { type: 'evaluation'; epoch: number; step: number; logs: Logs }
  /** Training finished (also after an early stop); `epochs` is the number of epochs run. */
  | { type: 'end'; epochs: number; seconds: number; logs: Logs };

export type ProgressListener = (event: ProgressEvent) => void | Promise<void>;

export interface ProgressLoggerOptions {
  /** At most one 'batch' event per this many milliseconds (the last batch of an epoch always gets one). Default 100. */
  intervalMs?: number;
  /** Clock in milliseconds; default `performance.now`. For tests and replays. */
  now?: () => number;
}

export class ProgressLogger extends Callback {
  readonly intervalMs: number;
  private readonly now: () => number;
  private lastBatchEvent = -Infinity;
  private trainStart = 0;
  private epochStart = 0;
  private epochsRun = 0;
  private epoch = 0;
  private last: TrainingProgress | undefined;

  constructor(
    private readonly listener: ProgressListener,
    options: ProgressLoggerOptions = {},
  ) {
    super();
    if (typeof listener !== 'function') throw new ConfigError(`ProgressLogger: expected a listener function (event) => void, got ${typeof listener}`);
    const interval = options.intervalMs ?? 100;
    if (!(Number.isFinite(interval) && interval >= 0)) throw new ConfigError(`ProgressLogger: intervalMs must be finite and >= 0, got ${interval}`);
    this.intervalMs = interval;
    this.now = options.now ?? (() => performance.now());
  }

  override onTrainBegin(): void {
    this.trainStart = this.now();
    this.lastBatchEvent = -Infinity;
    this.epochsRun = 0;
    this.last = undefined;
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = this.now();
  }

  override async onBatchEnd(_batch: number, logs: Logs, progress: TrainingProgress): Promise<void> {
    this.last = progress;
    const t = this.now();
    // The last batch always goes out so a bar ends at 100%; so does a non-finite loss, as training is about to stop.
    const last = progress.batch === progress.batches - 1;
    const bad = logs.loss !== undefined && !Number.isFinite(logs.loss);
    if (!last && !bad && t - this.lastBatchEvent < this.intervalMs) return;
    this.lastBatchEvent = t;
    await this.listener({ type: 'batch', ...progress, logs: { ...logs } });
  }

  override async onEvaluation(step: number, logs: Logs): Promise<void> {
    await this.listener({ type: 'evaluation', epoch: this.epoch, step, logs: { ...logs } });
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    this.epochsRun++;
    const seconds = (this.now() - this.epochStart) / 1000;
    await this.listener({ type: 'epoch', epoch, epochs: this.last?.epochs ?? epoch + 1, batches: this.last?.batches ?? 0, seconds, logs: { ...logs } });
  }

  override async onTrainEnd(logs: Logs): Promise<void> {
    await this.listener({ type: 'end', epochs: this.epochsRun, seconds: (this.now() - this.trainStart) / 1000, logs: { ...logs } });
  }
}
