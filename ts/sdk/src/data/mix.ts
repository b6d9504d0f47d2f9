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
 * Mixed batches are written right before their step (no prefetch).
 */
import { ConfigError, DataError, ShapeError } from '../errors.js';
import type { DataBatch, Dataset, BatchOptions } from '../model/data.js';
import type { Engine } from '../runtime/engine.js';
import { isEngineView } from '../runtime/engine-view.js';
import { splitSeed } from '../runtime/rng.js';

/** The mixings `fit({ mix })` offers. */
export const MIX_KINDS = ['mixup', 'cutmix'] as const;
export type MixKind = (typeof MIX_KINDS)[number];

/** The kernel's code of each kind. */
const KIND_CODE: Record<MixKind, number> = { mixup: 1, cutmix: 2 };

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

/** `data` with every batch mixed (see the module's comment). */
export function mixedBatches(data: Dataset, options: MixedBatchesOptions): Dataset {
  return new MixedDataset(data, options);
}

class MixedDataset implements Dataset {
  readonly denseTargets = true;
  private readonly seedWords: [number, number];

  constructor(
    private readonly base: Dataset,
    private readonly options: MixedBatchesOptions,
  ) {
    checkMix(options, 'mix');
    this.seedWords = splitSeed(options.seed);
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

  async *batches(opts: BatchOptions): AsyncIterable<DataBatch> {
    const epoch = opts.epoch ?? 0;
    let first = 0;
    for await (const batch of this.base.batches(opts)) {
      yield this.mixed(batch, epoch, first);
      first += batch.size;
    }
  }

  /** `batch` whose `fill` also mixes; its targets are the mixed rows once `fill` has run. */
  private mixed(batch: DataBatch, epoch: number, first: number): DataBatch {
    let targets: Float32Array | undefined;
    return {
      size: batch.size,
      fill: (target: Float32Array) => {
        batch.fill(target);
        const lambdas = this.mixInputs(target, batch.size, epoch, first);
        targets = mixTargets(oneHotRows(batch.targets, batch.size, this.options.targetWidth), lambdas, this.options.targetWidth);
      },
      get targets(): Float32Array {
        if (!targets) throw new DataError('mix: a mixed batch has targets only after fill() (its weights are drawn there)');
        return targets;
      },
    };
  }

  /** Mixes the `n` inputs in `target` in place; returns each sample's weight. */
  private mixInputs(target: Float32Array, n: number, epoch: number, first: number): Float32Array {
    const { engine } = this.options;
    const [h, w, c] = this.base.sampleShape;
    const len = n * h * w * c;
    if (target.length !== len) throw new ShapeError(`mix: expected ${n} inputs of [${h}, ${w}, ${c}] (${len} values), got ${target.length}`);
    const heap = engine.memory;
    // The address first: allocating below may grow memory and detach `target`.
    const inMemory = isEngineView(engine, target);
    const xAt = inMemory ? target.byteOffset : 0;
    const bytes = len * 4;
    const scratch = heap.alloc(bytes, 16);
    let lambdas = 0;
    let staged = 0;
    try {
      lambdas = heap.alloc(n * 4, 16);
      if (!inMemory) {
        staged = heap.alloc(bytes, 16);
        heap.f32(staged, len).set(target);
      }
      const x = inMemory ? xAt : staged;
      engine.call('mixBatch', () =>
        engine.raw.lc_mix_batch(x, lambdas, scratch, n, h, w, c, KIND_CODE[this.options.kind], this.options.alpha, this.seedWords[0], this.seedWords[1], epoch >>> 0, first >>> 0),
      );
      if (!inMemory) target.set(heap.f32(staged, len));
      return heap.f32(lambdas, n).slice();
    } finally {
      heap.free(scratch, bytes, 16);
      if (lambdas) heap.free(lambdas, n * 4, 16);
      if (staged) heap.free(staged, bytes, 16);
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
