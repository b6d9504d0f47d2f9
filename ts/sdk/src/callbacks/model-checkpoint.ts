/**
 * ModelCheckpoint (Keras semantics): save the model file every epoch (or every
 * `saveFreq` batches), or only when the monitored value improves. Files are
 * replaced atomically, so an interrupted run never leaves a torn checkpoint.
 */
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Logs } from '../model/history.js';
import { hostKind } from '../runtime/platform.js';
import { Callback } from './callback.js';
import { FilepathTemplate } from './filepath-template.js';
import { checkMonitor, improves, MonitorReader, resolveMode, type MonitorMode } from './monitor.js';

export interface CheckpointInfo {
  /** The formatted file path (when a `filepath` template was given). */
  filepath?: string;
  /** Batch index within the epoch when saving per batch (`saveFreq` a number). */
  batch?: number;
  logs: Logs;
}

export interface ModelCheckpointArgs {
  /**
   * Where to save, with Python-format placeholders as in Keras: `{epoch}` (1-based),
   * `{epoch:02d}`, `{batch}` (1-based, with a numeric saveFreq) and any log key,
   * e.g. `ckpt/model-{epoch:02d}-{val_loss:.4f}.lcnn`. Missing directories are created.
   * Required unless `onSave` is given.
   */
  filepath?: string;
  /** Default 'val_loss'. */
  monitor?: string;
  /** 'auto' (default): 'max' for names containing 'acc'/'auc', else 'min'. */
  mode?: MonitorMode;
  /** Save only when the monitored value improves on the best so far. Default false. */
  saveBestOnly?: boolean;
  /** Also save the optimizer state (to resume training). Default false. */
  includeOptimizer?: boolean;
  /** 'epoch' (default) or save every this many batches. */
  saveFreq?: 'epoch' | number;
  /** With saveBestOnly: the value to beat before the first save. */
  initialValueThreshold?: number;
  /**
   * Receives the bytes instead of a file being written — for browsers (IndexedDB,
   * a download, postMessage) or any custom storage. `epoch` is 0-based, as in the
   * other hooks; `info.filepath` is the formatted template when one was given.
   */
  onSave?: (bytes: Uint8Array, epoch: number, info: CheckpointInfo) => void | Promise<void>;
}

export class ModelCheckpoint extends Callback {
  readonly filepath: string | undefined;
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly saveBestOnly: boolean;
  readonly includeOptimizer: boolean;
  readonly saveFreq: 'epoch' | number;
  /** Best monitored value saved so far (saveBestOnly). */
  best: number;
  /** Path of the last file written (undefined until the first save, or with onSave and no filepath). */
  lastSaved: string | undefined;
  private readonly template: FilepathTemplate | undefined;
  private readonly onSave: ModelCheckpointArgs['onSave'];
  private readonly reader: MonitorReader;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  private lastBatchSeen = -1;

  constructor(args: ModelCheckpointArgs) {
    super();
    const where = 'ModelCheckpoint';
    if (args.filepath === undefined && args.onSave === undefined) throw new ConfigError(`${where}: expected a filepath or an onSave(bytes, epoch) hook, got neither`);
    if (args.filepath !== undefined && (typeof args.filepath !== 'string' || args.filepath === '')) {
      throw new ConfigError(`${where}: filepath must be a non-empty string, got ${JSON.stringify(args.filepath)}`);
    }
    // Fail now rather than at the end of the first epoch.
    if (args.onSave === undefined && hostKind() !== 'node') {
      throw new ConfigError(`${where}: writing '${args.filepath}' needs Node.js (node:fs); in a browser pass an onSave(bytes, epoch) hook and store the bytes yourself`);
    }
    this.filepath = args.filepath;
    this.template = args.filepath === undefined ? undefined : new FilepathTemplate(args.filepath, where);
    this.monitor = checkMonitor(args.monitor ?? 'val_loss', where);
    this.mode = resolveMode(this.monitor, args.mode, where);
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.includeOptimizer = args.includeOptimizer ?? false;
    const freq = args.saveFreq ?? 'epoch';
    if (freq !== 'epoch' && !(Number.isInteger(freq) && freq > 0)) throw new ConfigError(`${where}: saveFreq must be 'epoch' or a positive integer (batches), got ${JSON.stringify(freq)}`);
    this.saveFreq = freq;
    if (args.initialValueThreshold !== undefined && !Number.isFinite(args.initialValueThreshold)) {
      throw new ConfigError(`${where}: initialValueThreshold must be a finite number, got ${args.initialValueThreshold}`);
    }
    this.best = args.initialValueThreshold ?? (this.mode === 'min' ? Infinity : -Infinity);
    this.onSave = args.onSave;
    this.reader = new MonitorReader(this.monitor, 'ModelCheckpoint (saveBestOnly)');
  }

  override onEpochBegin(epoch: number): void {
    this.currentEpoch = epoch;
  }

  override async onBatchEnd(batch: number, logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    // Count batches across epoch boundaries (batch indices restart at 0), as Keras does.
    this.batchesSinceSave += batch <= this.lastBatchSeen ? batch + 1 : batch - this.lastBatchSeen;
    this.lastBatchSeen = batch;
    if (this.batchesSinceSave < this.saveFreq) return;
    this.batchesSinceSave = 0;
    await this.save(this.currentEpoch, batch, logs);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.save(epoch, undefined, logs);
  }

  private async save(epoch: number, batch: number | undefined, logs: Logs): Promise<void> {
    if (this.saveBestOnly) {
      const current = this.reader.read(logs);
      if (current === undefined || !improves(this.mode, current, this.best)) return;
      this.best = current;
    }
    const values: Record<string, number> = { ...logs, epoch: epoch + 1, ...(batch === undefined ? {} : { batch: batch + 1 }) };
    // Format before serializing: a bad placeholder should not cost a toBytes.
    const path = this.template?.format(values);
    const bytes = this.model.toBytes({ includeOptimizer: this.includeOptimizer });
    if (this.onSave) {
      await this.onSave(bytes, epoch, { ...(path === undefined ? {} : { filepath: path }), ...(batch === undefined ? {} : { batch }), logs: { ...logs } });
    } else {
      await writeFileAtomic(path!, bytes, { makeDirs: true });
    }
    this.lastSaved = path;
  }
}
