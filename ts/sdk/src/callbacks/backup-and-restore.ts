/**
 * BackupAndRestore (Keras semantics): fault-tolerant training. After every
 * completed epoch the model's weights, optimizer state and epoch count are
 * backed up in one file, replaced atomically. When `fit` starts and a backup
 * exists (the previous fit was killed, crashed or stopped part-way through an
 * epoch), the model is restored from it and `fit` continues at the epoch
 * after it. `fit` shuffles by seed and epoch and draws dropout by seed and
 * step, so the resumed training ends bit-identical to an uninterrupted one.
 *
 * The backup is deleted when training ends with a complete epoch (all epochs
 * done, or EarlyStopping) unless `deleteCheckpoint` is false; an epoch cut
 * short (a callback set `stopTraining` in its middle) keeps it, and so does an
 * error, which skips `onTrainEnd`. As in Keras, other callbacks' state
 * (EarlyStopping's counters, a ReduceLROnPlateau's wait) is not backed up.
 *
 * Node writes `backupDir/backup.safetensors`; elsewhere (a browser) pass
 * `storage` hooks, e.g. over IndexedDB.
 */
import { ConfigError, LiteCnnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { decodeModelFile } from '../io/model-file.js';
import { readSafetensorsMetadata, withSafetensorsMetadata } from '../io/safetensors.js';
import type { Logs } from '../model/history.js';
import { hostKind } from '../runtime/platform.js';
import { Callback, type TrainingProgress } from './callback.js';

/** Where a backup lives: one blob, replaced whole. */
export interface BackupStorage {
  /** The backup's bytes, or null when there is none. */
  load(): Promise<Uint8Array | null>;
  /** Replaces the backup; must be atomic (a crash leaves the old bytes or the new ones). */
  save(bytes: Uint8Array): Promise<void>;
  remove(): Promise<void>;
}

export interface BackupAndRestoreArgs {
  /** Node: the folder of `backup.safetensors` (created when missing). */
  backupDir?: string;
  /** Instead of `backupDir`: your own storage (browsers, object stores). */
  storage?: BackupStorage;
  /** Delete the backup when training ends with a complete epoch. Default true. */
  deleteCheckpoint?: boolean;
}

/** The backup file's name in `backupDir`. */
export const BACKUP_FILE = 'backup.safetensors';
/** `__metadata__` key of the backup's epoch count (the optimizer's step is in the model file's own). */
const STATE_KEY = 'lite_cnn_backup';

interface BackupState {
  epochsCompleted: number;
}

export class BackupAndRestore extends Callback {
  readonly deleteCheckpoint: boolean;
  /** Epochs the restored backup held (0: none restored). */
  restoredEpochs = 0;
  private readonly storage: BackupStorage;
  private readonly where: string;
  /** The last batch seen in the current epoch, and the epoch's batch count. */
  private lastBatch = -1;
  private batches = 0;
  /** Whether the last epoch that ended was cut short. */
  private cutShort = false;

  constructor(args: BackupAndRestoreArgs) {
    super();
    const name = 'BackupAndRestore';
    if ((args.backupDir === undefined) === (args.storage === undefined)) {
      throw new ConfigError(`${name}: expected exactly one of backupDir (Node) or storage (your own load/save/remove), got ${args.backupDir === undefined ? 'neither' : 'both'}`);
    }
    if (args.backupDir !== undefined) {
      if (typeof args.backupDir !== 'string' || args.backupDir === '') throw new ConfigError(`${name}: backupDir must be a non-empty string, got ${JSON.stringify(args.backupDir)}`);
      if (hostKind() !== 'node') throw new ConfigError(`${name}: backupDir '${args.backupDir}' needs Node.js (node:fs); in a browser pass storage hooks (e.g. over IndexedDB)`);
    }
    this.storage = args.storage ?? fileStorage(args.backupDir!);
    this.where = args.backupDir === undefined ? `${name} (storage)` : `${name} (${args.backupDir})`;
    this.deleteCheckpoint = args.deleteCheckpoint ?? true;
  }

  /** Restores the model from the backup, if any; `fit` starts at the epoch returned. */
  override async onTrainRestore(): Promise<number> {
    const bytes = await this.storage.load();
    if (bytes === null) return 0;
    const state = readState(bytes, this.where);
    const saved = decodeModelFile(bytes, this.where);
    if (!saved.training?.state) throw new LiteCnnError(`${this.where}: the backup holds no optimizer state`);
    try {
      this.model.setWeights(new Map(saved.weights.map((w) => [w.name, w.data])));
      this.model.setOptimizerState(saved.training.state);
    } catch (err) {
      throw new ConfigError(`${this.where}: the backup is of another model (${(err as Error).message}); delete it, or give this training its own backup`, { cause: err });
    }
    this.restoredEpochs = state.epochsCompleted;
    return state.epochsCompleted;
  }

  override onEpochBegin(): void {
    this.lastBatch = -1;
  }

  override onBatchEnd(batch: number, _logs: Logs, progress: TrainingProgress): void {
    this.lastBatch = batch;
    this.batches = progress.batches;
  }

  override async onEpochEnd(epoch: number): Promise<void> {
    // A cut-short epoch is not backed up: resuming redoes it from its start.
    this.cutShort = this.lastBatch !== this.batches - 1;
    if (this.cutShort) return;
    const bytes = this.model.toBytes({ includeOptimizer: true });
    const state: BackupState = { epochsCompleted: epoch + 1 };
    await this.storage.save(withSafetensorsMetadata(bytes, { [STATE_KEY]: JSON.stringify(state) }));
  }

  override async onTrainEnd(): Promise<void> {
    if (this.deleteCheckpoint && !this.cutShort) await this.storage.remove();
  }
}

function readState(bytes: Uint8Array, where: string): BackupState {
  const raw = readSafetensorsMetadata(bytes, { name: where })[STATE_KEY];
  let state: Partial<BackupState> | undefined;
  try {
    state = raw === undefined ? undefined : (JSON.parse(raw) as Partial<BackupState>);
  } catch {
    state = undefined;
  }
  if (!state || !Number.isSafeInteger(state.epochsCompleted) || state.epochsCompleted! < 0) {
    throw new LiteCnnError(`${where}: not a BackupAndRestore backup (no valid '${STATE_KEY}' entry in its metadata)`);
  }
  return state as BackupState;
}

/** `dir/backup.safetensors`, written atomically (Node). */
function fileStorage(dir: string): BackupStorage {
  const file = `${dir.replace(/[/\\]+$/, '')}/${BACKUP_FILE}`;
  return {
    load: async () => {
      const fs = await import('node:fs/promises');
      try {
        return new Uint8Array(await fs.readFile(file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new LiteCnnError(`BackupAndRestore: cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
    },
    save: (bytes) => writeFileAtomic(file, bytes, { makeDirs: true }),
    remove: async () => {
      const fs = await import('node:fs/promises');
      await fs.rm(file, { force: true });
    },
  };
}
