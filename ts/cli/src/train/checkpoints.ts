/**
 * The run's two model files.
 * - model.safetensors: the best model by the monitored value (Keras'
 *   ModelCheckpoint with saveBestOnly), with class names and preprocessing.
 * - last.safetensors: the state at the last epoch boundary with the optimizer
 *   state, written before the first epoch and after every epoch. It records
 *   how many epochs were completed in its `__metadata__` (key
 *   `lite_cnn_run`), so `--resume` continues at that boundary; a resumed run
 *   then ends bit-identical to an uninterrupted one. An epoch cut short by
 *   Ctrl-C is never saved: resuming redoes it from its start.
 */
import { LARGE_MODEL_LIMITS } from '../model/load.js';
import { readFile } from 'node:fs/promises';
import { Callback, readSafetensorsMetadata, type Logs, ModelCheckpoint, Model, withSafetensorsMetadata, writeFileAtomic, type Engine } from '@lite-cnn/sdk';
import { RunError } from '../errors.js';
import type { Interrupt } from './interrupt.js';

const RUN_KEY = 'lite_cnn_run';

export interface RunState {
  /** Epochs completed when the file was written (the epoch to resume at, 0-based). */
  epochsCompleted: number;
  /** Optimizer steps taken. */
  step: number;
  /** The best monitored value model.safetensors was saved at, if any. */
  best: number | null;
  /** EarlyStopping's counters at this boundary (with --patience). */
  earlyStopping: { best: number | null; bestEpoch: number; wait: number } | null;
}

/** What other callbacks contribute to the state at an epoch boundary. */
export type RunStateExtras = () => Pick<RunState, 'best' | 'earlyStopping'>;

/** Adds the run state to a model file's `__metadata__` (other readers ignore the extra key). */
export function withRunState(bytes: Uint8Array, state: RunState): Uint8Array {
  return withSafetensorsMetadata(bytes, { [RUN_KEY]: JSON.stringify(state) });
}

export async function readLastCheckpoint(path: string, engine: Engine): Promise<{ model: Model; state: RunState }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new RunError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const meta = readSafetensorsMetadata(bytes, { name: path })[RUN_KEY];
  let state: RunState | undefined;
  try {
    state = meta === undefined ? undefined : (JSON.parse(meta) as RunState);
  } catch {
    state = undefined;
  }
  if (!state || !Number.isSafeInteger(state.epochsCompleted) || state.epochsCompleted < 0 || !Number.isSafeInteger(state.step)) {
    throw new RunError(`${path}: no valid '${RUN_KEY}' entry in its metadata; it was not written by lite-cnn train`);
  }
  const model = await Model.fromBytes(bytes, { engine, name: path, limits: LARGE_MODEL_LIMITS });
  if (model.step !== state.step) throw new RunError(`${path}: the optimizer state is at step ${model.step}, the run state says ${state.step}`);
  return { model, state };
}

/** Writes last.safetensors at the start (a fresh run) and after every completed epoch. */
export class LastCheckpoint extends Callback {
  private step: number;
  private written: number | null = null;

  constructor(
    private readonly path: string,
    private readonly interrupt: Interrupt,
    private readonly start: RunState,
    private readonly extras: RunStateExtras,
  ) {
    super();
    this.step = start.step;
  }

  override async onTrainBegin(): Promise<void> {
    // Even a run stopped in its first epoch leaves a resumable file.
    if (this.start.epochsCompleted === 0) await this.write(this.start);
  }

  override onBatchEnd(_b: number, _l: unknown, progress: { step: number }): void {
    this.step = progress.step;
  }

  override async onEpochEnd(epoch: number): Promise<void> {
    if (this.interrupt.completed(epoch)) await this.write({ epochsCompleted: epoch + 1, step: this.step, ...this.extras() });
  }

  /** The epochs completed in the last file written (null: none written yet). */
  get epochsWritten(): number | null {
    return this.written;
  }

  private async write(state: RunState): Promise<void> {
    await writeFileAtomic(this.path, withRunState(this.model.toBytes({ includeOptimizer: true }), state));
    this.written = state.epochsCompleted;
  }
}

/** Keras' ModelCheckpoint(saveBestOnly) that ignores the epochs before `startFromEpoch` (0-based), like EarlyStopping's `startFromEpoch`. */
class BestCheckpoint extends ModelCheckpoint {
  constructor(
    args: ConstructorParameters<typeof ModelCheckpoint>[0],
    private readonly startFromEpoch: number,
  ) {
    super(args);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (epoch >= this.startFromEpoch) await super.onEpochEnd(epoch, logs);
  }
}

/**
 * model.safetensors: saved when the monitored value improves on every earlier
 * epoch (of this run, resumed or not) from epoch `startFromEpoch` (0-based) on.
 */
export function bestCheckpoint(path: string, monitor: string, interrupt: Interrupt, bestSoFar: number | undefined, startFromEpoch = 0, onSaved?: (epoch: number) => void): ModelCheckpoint {
  return new BestCheckpoint(
    {
      monitor,
      saveBestOnly: true,
      ...(bestSoFar === undefined ? {} : { initialValueThreshold: bestSoFar }),
      onSave: async (bytes, epoch) => {
        if (interrupt.completed(epoch)) {
          await writeFileAtomic(path, bytes);
          onSaved?.(epoch);
        }
      },
    },
    startFromEpoch,
  );
}
