/**
 * Ctrl-C, SIGTERM and SIGHUP (the terminal closed: an SSH session dropped)
 * during training: the current step finishes, the epoch it cut short is
 * marked partial (so no checkpoint or history row claims it was complete),
 * and fit returns. Left to Node, SIGHUP would end the process at once, in the
 * middle of a fold or an ensemble member. A second signal exits at once —
 * every file is replaced atomically, so nothing is left torn.
 *
 * The training step is one synchronous call into wasm, so signals are only
 * heard when the loop yields to the event loop: this callback yields every
 * few milliseconds (which also lets the progress bar redraw).
 */
import { Callback, type Logs, type TrainingProgress } from '@lite-cnn/sdk';
import { EXIT } from '../errors.js';

const YIELD_EVERY_MS = 25;

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** Each stop signal's exit code (128 + its number, as a shell reports it). */
export const STOP_EXIT: Record<StopSignal, number> = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

/** How the stop notice names `sig`. */
export function describeSignal(sig: StopSignal): string {
  return sig === 'SIGINT' ? 'Ctrl-C' : sig === 'SIGHUP' ? 'SIGHUP (the terminal closed)' : 'SIGTERM';
}

export class Interrupt extends Callback {
  /** The signal that asked training to stop, if any. */
  signal: StopSignal | undefined;
  /** The epoch (0-based) the stop cut short, or undefined if it came at an epoch boundary. */
  partialEpoch: number | undefined;
  private lastYield = 0;
  private readonly handlers = new Map<StopSignal, () => void>();

  constructor(private readonly onSignal: (signal: StopSignal) => void) {
    super();
  }

  /** Installs the signal handlers (until `dispose`). */
  listen(): this {
    for (const sig of Object.keys(STOP_EXIT) as StopSignal[]) {
      const h = () => {
        if (this.signal !== undefined) process.exit(STOP_EXIT[sig]);
        this.signal = sig;
        this.onSignal(sig);
      };
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
    return this;
  }

  dispose(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }

  get exitCode(): number {
    return STOP_EXIT[this.signal ?? 'SIGINT'];
  }

  /** Whether the epoch's end-of-epoch logs describe a complete epoch. */
  completed(epoch: number): boolean {
    return this.partialEpoch !== epoch;
  }

  override onEpochEnd(): void {
    // A signal heard during the epoch-end evaluation stops before the next epoch starts.
    if (this.signal !== undefined) this.model.stopTraining = true;
  }

  override async onBatchEnd(_batch: number, _logs: Logs, progress: TrainingProgress): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield >= YIELD_EVERY_MS) {
      this.lastYield = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.signal !== undefined) {
      if (progress.batch < progress.batches - 1) this.partialEpoch = progress.epoch;
      this.model.stopTraining = true;
    }
  }
}
