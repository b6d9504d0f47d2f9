/**
 * MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) of training
 * batches, as torchvision.transforms.v2's `MixUp`/`CutMix` and Keras'
 * `MixUp`/`CutMix` layers: each sample of a batch is mixed with the one
 * before it (the first with the last) by its own weight `λ ~ Beta(α, α)`,
 * inputs and targets alike. The batch's inputs are mixed in place by the
 * kernel (`lc_mix_batch`, crates/kernels/src/image/mix.rs), after they were
 * written (augmented and preprocessed), and its targets become the mixed
 * rows (`λ·t_i + (1 − λ)·t_partner`, from class indices as one-hot rows).
 *
 * Every draw is keyed by (seed, epoch, position in the epoch's order), so a
 * run is reproducible and a resumed epoch mixes as the interrupted one did.
 * A batch that `fit` prefetches (an `ImageDataset`'s) is mixed in the same
 * engine call as its transform, during the previous step: the same bits as
 * mixing after `fill`.
 */
import { ConfigError, DataError, RuntimeError, ShapeError } from '../errors.js';
import { MIX_ARGS, MixKindCode, structBytes, writeStruct, type StructValues } from '../exec/abi.js';
import { shapeSize } from '../layers/shape.js';
import type { DataBatch, Dataset, BatchOptions } from '../model/data.js';
import type { Engine } from '../runtime/engine.js';
import { isEngineView } from '../runtime/engine-view.js';
import { splitSeed } from '../runtime/rng.js';
import type { StagedTransform } from './transform.js';

/** The mixings `fit({ mix })` offers. */
export const MIX_KINDS = ['mixup', 'cutmix'] as const;
export type MixKind = (typeof MIX_KINDS)[number];

export interface MixArgs {
  /** `'mixup'`: blend whole inputs; `'cutmix'`: paste a box of the partner. */
  kind: MixKind;
  /** `α` of the `Beta(α, α)` weights, > 0 (torchvision's default 1.0; 0.2-0.4 is common for MixUp). */
  alpha: number;
}

/** Validates `fit`'s `mix` option. */
export function checkMix(mix: MixArgs, where: string): MixArgs {
  if (typeof mix !== 'object' || mix === null) throw new ConfigError(`${where}: mix must be { kind: ${MIX_KINDS.map((k) => `'${k}'`).join(' | ')}, alpha }, got ${String(mix)}`);
  if (!MIX_KINDS.includes(mix.kind)) throw new ConfigError(`${where}: mix.kind must be one of ${MIX_KINDS.join(', ')}, got ${String(mix.kind)}`);
  if (!(typeof mix.alpha === 'number' && Number.isFinite(mix.alpha) && mix.alpha > 0)) throw new ConfigError(`${where}: mix.alpha must be a finite number > 0, got ${String(mix.alpha)}`);
  return { kind: mix.kind, alpha: mix.alpha };
}

export interface MixedBatchesOptions extends MixArgs {
  /** The engine whose memory holds the inputs `fill` writes (the model's). */
  engine: Engine;
  seed: number;
  /** Values per target row: the model's output units (1 for a single sigmoid output). */
  targetWidth: number;
}

/** A dataset whose batches are mixed; `dispose()` frees its buffers in engine memory (else garbage collection does). */
export interface MixedDataset extends Dataset {
  dispose(): void;
}

/** `data` with every batch mixed (see the module's comment). */
export function mixedBatches(data: Dataset, options: MixedBatchesOptions): MixedDataset {
  return new MixedBatches(data, options);
}

/**
 * The mixing's buffers in engine memory, sized for the largest batch seen:
 * two slots of arguments and weights (a batch staged during a step and the
 * batch that step trains on are both alive) and one scratch copy of a batch
 * (used only while a mixing runs, and two never run at once).
 */
interface Buffers {
  engine: Engine;
  capacity: number;
  args: [number, number];
  lambdas: [number, number];
  scratch: number;
  scratchBytes: number;
}

const ARGS_BYTES = structBytes(MIX_ARGS);
const registry = new FinalizationRegistry<Buffers>((b) => release(b));

function release(b: Buffers): void {
  if (b.capacity === 0) return;
  try {
    for (const ptr of b.args) b.engine.memory.free(ptr, ARGS_BYTES, 16);
    for (const ptr of b.lambdas) b.engine.memory.free(ptr, b.capacity * 4, 16);
    b.engine.memory.free(b.scratch, b.scratchBytes, 16);
  } catch {
    // The engine was shut down: its memory is gone with it.
  }
  b.capacity = 0;
}

class MixedBatches implements MixedDataset {
  readonly denseTargets = true;
  private readonly seedWords: [number, number];
  private readonly buffers: Buffers;
  private slot: 0 | 1 = 0;
  private disposed = false;

  constructor(
    private readonly base: Dataset,
    private readonly options: MixedBatchesOptions,
  ) {
    checkMix(options, 'mix');
    if (!Number.isInteger(options.targetWidth) || options.targetWidth < 1) throw new ConfigError(`mix: targetWidth must be an integer >= 1, got ${options.targetWidth}`);
    this.seedWords = splitSeed(options.seed);
    this.buffers = { engine: options.engine, capacity: 0, args: [0, 0], lambdas: [0, 0], scratch: 0, scratchBytes: 0 };
    registry.register(this, this.buffers, this);
  }

  get size(): number {
    return this.base.size;
  }

  get sampleShape() {
    return this.base.sampleShape;
  }

  labels(): Uint32Array | undefined {
    return this.base.labels();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    registry.unregister(this);
    release(this.buffers);
  }

  async *batches(opts: BatchOptions): AsyncIterable<DataBatch> {
    if (this.disposed) throw new RuntimeError('mix: the mixed dataset was disposed');
    const epoch = opts.epoch ?? 0;
    let first = 0;
    for await (const batch of this.base.batches(opts)) {
      yield this.mixed(batch, epoch, first);
      first += batch.size;
    }
  }

  /**
   * `batch` mixed: `fill` writes then mixes the inputs; `stage` (when the
   * base batch has one) adds the mixing to the staged transform, run by the
   * step that prefetches it. Its targets are the mixed rows, readable once
   * the mixing has run (after `fill`, or after the engine call that ran the
   * staged work).
   */
  private mixed(batch: DataBatch, epoch: number, first: number): DataBatch {
    const slot = this.slot;
    this.slot = slot === 0 ? 1 : 0;
    const n = batch.size;
    const width = this.options.targetWidth;
    // The weights in the slot are this batch's once it is mixed; its targets follow from them when first read.
    let mixed = false;
    let targets: Float32Array | undefined;
    const markMixed = (): void => {
      mixed = true;
      targets = undefined;
    };
    const mixArgs = (): number => this.writeArgs(slot, n, epoch, first);
    const lambdas = (): Float32Array => this.buffers.engine.memory.f32(this.buffers.lambdas[slot], n).slice();
    const mixedBatch: DataBatch = {
      size: n,
      fill: (target: Float32Array) => {
        batch.fill(target);
        this.mixInPlace(target, mixArgs());
        markMixed();
      },
      get targets(): Float32Array {
        if (!mixed) throw new DataError('mix: a mixed batch has targets only once it is mixed (after fill(), or after the step that ran its staged work)');
        targets ??= mixTargets(oneHotRows(batch.targets, n, width), lambdas(), width);
        return targets;
      },
    };
    const stageBase = batch.stage?.bind(batch);
    if (stageBase) {
      mixedBatch.stage = (target: Float32Array): StagedTransform | undefined => {
        const staged = stageBase(target);
        if (!staged) return undefined;
        if (staged.engine !== this.buffers.engine) throw new RuntimeError("mix: the batch was staged in another engine than the mixing's");
        const mixArgsPtr = mixArgs();
        // The step that runs the staged work mixes this batch; its targets are read after that step.
        markMixed();
        return { ...staged, mixArgsPtr };
      };
    }
    return mixedBatch;
  }

  /** Writes slot `slot`'s `MIX_ARGS` for a batch of `n` (growing the buffers first); returns their address. */
  private writeArgs(slot: 0 | 1, n: number, epoch: number, first: number): number {
    this.reserve(n);
    const [h, w, c] = this.base.sampleShape;
    const b = this.buffers;
    const values: StructValues<typeof MIX_ARGS> = {
      kind: MixKindCode[this.options.kind],
      alpha: this.options.alpha,
      seedLo: this.seedWords[0],
      seedHi: this.seedWords[1],
      epoch: epoch >>> 0,
      first: first >>> 0,
      n,
      h,
      w,
      c,
      lambdasPtr: b.lambdas[slot],
      scratchPtr: b.scratch,
    };
    writeStruct(b.engine.memory.memory.buffer, b.args[slot], MIX_ARGS, values);
    return b.args[slot];
  }

  /** Buffers for batches of up to `n` inputs (reallocated when a larger batch comes). */
  private reserve(n: number): void {
    const b = this.buffers;
    if (b.capacity >= n) return;
    release(b);
    const heap = b.engine.memory;
    const per = shapeSize(this.base.sampleShape);
    b.args = [heap.alloc(ARGS_BYTES, 16), heap.alloc(ARGS_BYTES, 16)];
    b.lambdas = [heap.alloc(n * 4, 16), heap.alloc(n * 4, 16)];
    b.scratchBytes = n * per * 4;
    b.scratch = heap.alloc(b.scratchBytes, 16);
    b.capacity = n;
  }

  /** Mixes the inputs in `target` now (`lc_mix_batch`), in place when `target` is in engine memory. */
  private mixInPlace(target: Float32Array, argsPtr: number): void {
    const { engine } = this.options;
    const heap = engine.memory;
    if (isEngineView(engine, target)) {
      engine.call('mixBatch', () => engine.raw.lc_mix_batch(target.byteOffset, argsPtr));
      return;
    }
    // A plain array: mix a copy in engine memory.
    const bytes = target.length * 4;
    const staged = heap.alloc(bytes, 16);
    try {
      heap.f32(staged, target.length).set(target);
      engine.call('mixBatch', () => engine.raw.lc_mix_batch(staged, argsPtr));
      target.set(heap.f32(staged, target.length));
    } finally {
      heap.free(staged, bytes, 16);
    }
  }
}

/** A batch's targets as dense rows of `width`: class indices as one-hot rows (as the label itself for `width` 1). */
export function oneHotRows(targets: Uint32Array | Float32Array, n: number, width: number): Float32Array {
  if (targets instanceof Float32Array) {
    if (targets.length !== n * width) throw new ShapeError(`mix: expected ${n} target rows of ${width}, got ${targets.length} values`);
    return targets;
  }
  if (targets.length !== n) throw new ShapeError(`mix: expected ${n} labels, got ${targets.length}`);
  const rows = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const label = targets[i]!;
    if (width === 1) {
      if (label > 1) throw new DataError(`mix: a single-output model needs labels 0 or 1, got ${label} at sample ${i}`);
      rows[i] = label;
    } else {
      if (label >= width) throw new DataError(`mix: label ${label} at sample ${i} is not below the model's ${width} outputs`);
      rows[i * width + label] = 1;
    }
  }
  return rows;
}

/** `λ_i·t_i + (1 − λ_i)·t_{i−1}` (sample 0 with sample n − 1), as the kernel mixes the inputs. */
export function mixTargets(rows: Float32Array, lambdas: Float32Array, width: number): Float32Array {
  const n = lambdas.length;
  const out = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const p = (i + n - 1) % n;
    const l = lambdas[i]!;
    const m = Math.fround(1 - l);
    for (let k = 0; k < width; k++) out[i * width + k] = Math.fround(Math.fround(l * rows[i * width + k]!) + Math.fround(m * rows[p * width + k]!));
  }
  return out;
}
