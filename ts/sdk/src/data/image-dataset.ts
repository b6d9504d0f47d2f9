/**
 * Decoded images as a `Dataset` for fit/evaluate/predict. The images live
 * once, as one uint8 cache in JS memory (≈ the decoded dataset's size:
 * 697 BreakHis tiles at 224×224×3 are 105 MB). Datasets made with `subset`
 * (train/val/test, k-fold) and `oversampled` are index views over the same
 * cache. Per batch, the batch's images are gathered into a uint8 staging
 * buffer in wasm memory (allocated once per dataset, reused), and the
 * `ImageBatchTransformer` writes the float inputs — preprocessing, plus
 * augmentation when `augment` is set — straight into the executor's input.
 */
import { ConfigError, DataError, ShapeError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import type { BatchOptions, DataBatch, Dataset } from '../model/data.js';
import { defaultEngine } from '../runtime/default-engine.js';
import type { Engine } from '../runtime/engine.js';
import { splitSeed } from '../runtime/rng.js';
import { classCounts, oversampledOrder } from './balance.js';
import { checkImageShape, decodeImages, type AspectPolicy, type BadImagePolicy, type SkippedImage } from './decode.js';
import { classNamesOf, type ImageSample } from './samples.js';
import type { ImageBatch, ImageBatchTransformer } from './transform.js';

export interface ImageDatasetOptions {
  /** Turns each uint8 batch into model inputs (e.g. the wasm WasmImageTransformer). */
  transformer: ImageBatchTransformer;
  /** Apply random augmentation (training data). Default false. */
  augment?: boolean;
  /** The engine whose memory holds the staging buffer: the model's engine. Default: the shared default engine (the one models use by default). */
  engine?: Engine;
  /** Class names in label order. Default: from the samples. */
  classNames?: string[];
}

export interface ImageDatasetInit extends ImageDatasetOptions {
  /** `[n, h, w, c]` uint8. */
  images: Uint8Array;
  shape: Shape3;
  labels: ArrayLike<number>;
  /** The files the images came from (same order), when known. */
  samples?: readonly ImageSample[];
  skipped?: readonly SkippedImage[];
}

export interface FromSamplesOptions extends ImageDatasetOptions {
  /** Decoded size `[h, w, c]`, c = 1 or 3. */
  shape: Shape3;
  aspect?: AspectPolicy;
  /** Default 'fail'. With 'skip', bad files are left out and listed in `skipped`. */
  onBadImage?: BadImagePolicy;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** BatchOptions plus the epoch, which keys augmentation draws. */
export interface ImageBatchOptions extends BatchOptions {
  /** Default: a counter of `batches()` calls on this dataset (0, 1, 2, ...). Pass it when resuming. */
  epoch?: number;
}

export interface PositionBatchOptions {
  batchSize: number;
  /** Dataset positions, in the order to serve them (repeats allowed). */
  positions: Uint32Array;
  /** Id per served image (augmentation draws are keyed by it). Default: the positions. */
  sampleIds?: Uint32Array;
  epoch: number;
}

interface Cache {
  images: Uint8Array;
  per: number;
}

interface Staging {
  engine: Engine;
  capacity: number;
  src: number;
  ids: number;
}

// Staging buffers are freed when their dataset is garbage collected: no dispose() for users.
const stagingRegistry = new FinalizationRegistry<{ engine: Engine; ptr: number; bytes: number }>(({ engine, ptr, bytes }) => {
  try {
    engine.memory.free(ptr, bytes, 16);
  } catch {
    // The engine may already be shut down; its memory went with it.
  }
});

function checkLabelValues(labels: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DataError(`ImageDataset: label ${v} at image ${i}; expected a class index (integer >= 0)`);
  }
}

export class ImageDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: Shape3;
  readonly denseTargets = false;
  readonly classNames: string[];
  /** Files left out while decoding (onBadImage 'skip'). */
  readonly skipped: readonly SkippedImage[];
  /** The files of this dataset's images, in position order, when known. */
  readonly samples: readonly ImageSample[] | undefined;
  augment: boolean;
  transformer: ImageBatchTransformer;
  private readonly cache: Cache;
  /** Cache slot of each position. */
  private readonly index: Uint32Array;
  private readonly labelArray: Uint32Array;
  private readonly engineOption: Engine | undefined;
  private staging: Staging | undefined;
  private epochCounter = 0;

  constructor(init: ImageDatasetInit);
  /** @internal a view over another dataset's cache. */
  constructor(init: ImageDatasetInit, view: { cache: Cache; index: Uint32Array });
  constructor(init: ImageDatasetInit, view?: { cache: Cache; index: Uint32Array }) {
    checkImageShape(init.shape, 'ImageDataset');
    const per = init.shape[0] * init.shape[1] * init.shape[2];
    if (view) {
      this.cache = view.cache;
      this.index = view.index;
    } else {
      if (!(init.images instanceof Uint8Array) || init.images.length % per !== 0) {
        throw new ShapeError(`ImageDataset: expected images as a Uint8Array of n × ${init.shape.join(' × ')} values, got ${init.images.length} values`);
      }
      this.cache = { images: init.images, per };
      this.index = Uint32Array.from({ length: init.images.length / per }, (_, i) => i);
    }
    this.size = this.index.length;
    this.sampleShape = init.shape;
    if (init.labels.length !== this.size) throw new ShapeError(`ImageDataset: expected ${this.size} labels (one per image), got ${init.labels.length}`);
    if (init.samples && init.samples.length !== this.size) throw new ShapeError(`ImageDataset: expected ${this.size} samples (one per image), got ${init.samples.length}`);
    if (!(init.labels instanceof Uint32Array)) checkLabelValues(init.labels);
    this.labelArray = Uint32Array.from(init.labels);
    this.classNames = init.classNames ?? (init.samples ? classNamesOf(init.samples, 'ImageDataset') : classCounts(this.labelArray).map((_, i) => `class_${i}`));
    for (let i = 0; i < this.size; i++) {
      if (this.labelArray[i]! >= this.classNames.length) throw new DataError(`ImageDataset: label ${this.labelArray[i]} at image ${i} has no class name; expected labels below ${this.classNames.length}`);
    }
    this.samples = init.samples;
    this.skipped = init.skipped ?? [];
    this.transformer = init.transformer;
    this.augment = init.augment ?? false;
    this.engineOption = init.engine;
  }

  /**
   * Decodes every sample up front (bounded concurrency; sharp decodes on
   * libuv's threads) into one cache. Node only.
   */
  static async fromSamples(samples: readonly ImageSample[], options: FromSamplesOptions): Promise<ImageDataset> {
    if (samples.length === 0) throw new DataError('ImageDataset.fromSamples: expected samples, got none');
    const classNames = options.classNames ?? classNamesOf(samples, 'ImageDataset.fromSamples');
    const decoded = await decodeImages(
      samples.map((s) => s.path),
      {
        shape: options.shape,
        ...(options.aspect ? { aspect: options.aspect } : {}),
        ...(options.onBadImage ? { onBadImage: options.onBadImage } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
    if (decoded.kept.length === 0) {
      throw new DataError(`ImageDataset.fromSamples: none of the ${samples.length} images could be decoded, e.g. ${decoded.skipped[0]?.reason ?? ''}`);
    }
    const kept = decoded.kept.map((i) => samples[i]!);
    return new ImageDataset({
      images: decoded.images,
      shape: options.shape,
      labels: kept.map((s) => s.label),
      samples: kept,
      skipped: decoded.skipped,
      classNames,
      transformer: options.transformer,
      ...(options.augment !== undefined ? { augment: options.augment } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
    });
  }

  labels(): Uint32Array {
    return this.labelArray;
  }

  /** Group (patient) of each image, when the samples carry one. */
  groups(): (string | undefined)[] {
    return this.samples ? this.samples.map((s) => s.group) : new Array<undefined>(this.size).fill(undefined);
  }

  classCounts(): number[] {
    return classCounts(this.labelArray, this.classNames.length);
  }

  /** The uint8 pixels of image `i` (a view into the cache: do not modify). */
  image(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new DataError(`ImageDataset.image: index ${i} is out of range [0, ${this.size - 1}]`);
    const slot = this.index[i]!;
    return this.cache.images.subarray(slot * this.cache.per, (slot + 1) * this.cache.per);
  }

  /**
   * A dataset of the images at `positions` (e.g. a split), sharing this
   * dataset's decoded cache: no pixels are copied.
   */
  subset(positions: ArrayLike<number>, options: Partial<Pick<ImageDatasetOptions, 'transformer' | 'augment' | 'engine'>> = {}): ImageDataset {
    const index = new Uint32Array(positions.length);
    const labels = new Uint32Array(positions.length);
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.size) throw new DataError(`ImageDataset.subset: position ${p} is out of range [0, ${this.size - 1}]`);
      index[i] = this.index[p]!;
      labels[i] = this.labelArray[p]!;
    }
    const samples = this.samples ? Array.from(positions, (p) => this.samples![p]!) : undefined;
    const engine = options.engine ?? this.engineOption;
    return new ImageDataset(
      {
        images: this.cache.images,
        shape: this.sampleShape,
        labels,
        classNames: this.classNames,
        transformer: options.transformer ?? this.transformer,
        augment: options.augment ?? this.augment,
        ...(samples ? { samples } : {}),
        ...(engine ? { engine } : {}),
      },
      { cache: this.cache, index },
    );
  }

  /** A training view in which every class appears as often as the largest one, re-drawn each epoch (see oversampledOrder). */
  oversampled(seed: number): Dataset {
    return new OversampledDataset(this, seed);
  }

  async *batches(opts: ImageBatchOptions): AsyncIterable<DataBatch> {
    const epoch = opts.epoch ?? this.epochCounter++;
    const positions = opts.order ?? Uint32Array.from({ length: this.size }, (_, i) => i);
    yield* this.batchesFor({ batchSize: opts.batchSize, positions, epoch });
  }

  /** Batches over explicit positions (repeats allowed), e.g. for an oversampled epoch. */
  async *batchesFor(opts: PositionBatchOptions): AsyncIterable<DataBatch> {
    const { batchSize, positions, epoch } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`ImageDataset: batchSize must be an integer >= 1, got ${batchSize}`);
    if (!Number.isInteger(epoch) || epoch < 0) throw new ConfigError(`ImageDataset: epoch must be an integer >= 0, got ${epoch}`);
    const ids = opts.sampleIds ?? positions;
    if (ids.length !== positions.length) throw new ShapeError(`ImageDataset: expected one sample id per position (${positions.length}), got ${ids.length}`);
    for (let i = 0; i < positions.length; i++) {
      if (positions[i]! >= this.size) throw new DataError(`ImageDataset: position ${positions[i]} at ${i} is out of range [0, ${this.size - 1}]`);
    }
    // Allocated before the first fill: growing wasm memory inside fill() would invalidate the target view.
    const staging = await this.ensureStaging(Math.min(batchSize, Math.max(positions.length, 1)));
    const per = this.cache.per;
    for (let start = 0; start < positions.length; start += batchSize) {
      const n = Math.min(batchSize, positions.length - start);
      const batchPositions = positions.subarray(start, start + n);
      const batchIds = ids.subarray(start, start + n);
      const targets = new Uint32Array(n);
      for (let i = 0; i < n; i++) targets[i] = this.labelArray[batchPositions[i]!]!;
      // The batch's images gathered into the staging buffer, as the transformer's input.
      const gather = (target: Float32Array): ImageBatch => {
        if (target.length !== n * per) throw new ShapeError(`ImageDataset: expected an input view of ${n} × ${this.sampleShape.join(' × ')} = ${n * per} values, got ${target.length}`);
        const heap = staging.engine.memory;
        const src = heap.u8(staging.src, n * per);
        for (let i = 0; i < n; i++) {
          const slot = this.index[batchPositions[i]!]!;
          src.set(this.cache.images.subarray(slot * per, (slot + 1) * per), i * per);
        }
        const sampleIds = heap.u32(staging.ids, n);
        sampleIds.set(batchIds);
        return { src, dst: target, n, shape: this.sampleShape, sampleIds, epoch, augment: this.augment };
      };
      yield {
        size: n,
        targets,
        fill: (target: Float32Array) => this.transformer.run(gather(target)),
        // The staging buffer is shared by the dataset's batches: a staged batch must run before the next one is gathered.
        stage: (target: Float32Array) => (this.transformer.stage ? this.transformer.stage(gather(target)) : undefined),
      };
    }
  }

  private async ensureStaging(capacity: number): Promise<Staging> {
    const engine = this.engineOption ?? (await defaultEngine());
    const cur = this.staging;
    if (cur && cur.engine === engine && cur.capacity >= capacity) return cur;
    if (cur) {
      stagingRegistry.unregister(cur);
      cur.engine.memory.free(cur.src, cur.capacity * this.cache.per, 16);
      cur.engine.memory.free(cur.ids, cur.capacity * 4, 16);
    }
    const src = engine.memory.alloc(capacity * this.cache.per, 16);
    const ids = engine.memory.alloc(capacity * 4, 16);
    const next: Staging = { engine, capacity, src, ids };
    stagingRegistry.register(this, { engine, ptr: src, bytes: capacity * this.cache.per }, next);
    stagingRegistry.register(this, { engine, ptr: ids, bytes: capacity * 4 }, next);
    this.staging = next;
    return next;
  }
}

/** An epoch-by-epoch oversampled view of an ImageDataset (ImageDataset.oversampled). */
class OversampledDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: Shape3;
  readonly denseTargets = false;
  private epochCounter = 0;

  constructor(
    private readonly base: ImageDataset,
    private readonly seed: number,
  ) {
    const counts = base.classCounts().filter((c) => c > 0);
    this.size = counts.length * Math.max(0, ...counts);
    this.sampleShape = base.sampleShape;
    splitSeed(seed); // validates the seed now rather than at the first epoch
  }

  /** Labels of the balanced epoch (every present class equally often). */
  labels(): Uint32Array {
    const order = oversampledOrder(this.base.labels(), this.seed, 0);
    return order.map((p) => this.base.labels()[p]!);
  }

  batches(opts: ImageBatchOptions): AsyncIterable<DataBatch> {
    const epoch = opts.epoch ?? this.epochCounter++;
    const drawn = oversampledOrder(this.base.labels(), this.seed, epoch);
    const order = opts.order;
    if (order && order.length !== this.size) throw new ShapeError(`ImageDataset.oversampled: expected an order over ${this.size} samples, got ${order.length}`);
    // Ids are positions in the epoch's oversampled list, so two copies of one image get different augmentations.
    const sampleIds = order ?? Uint32Array.from({ length: this.size }, (_, i) => i);
    const positions = sampleIds.map((v) => drawn[v]!);
    return this.base.batchesFor({ batchSize: opts.batchSize, positions, sampleIds, epoch });
  }
}

export interface ChannelStats {
  /** Per-channel mean of pixel values / 255. */
  mean: number[];
  /** Per-channel (population) standard deviation of pixel values / 255. */
  std: number[];
}

/**
 * Per-channel mean and standard deviation over all images of `dataset` (use
 * the training split), in the units of `standardize` preprocessing (pixels
 * / 255). Sums are exact integers, so the result does not depend on order.
 */
export function channelStats(dataset: ImageDataset): ChannelStats {
  const c = dataset.sampleShape[2];
  const sum = new Array<number>(c).fill(0);
  const sq = new Array<number>(c).fill(0);
  const s = new Float64Array(c);
  const q = new Float64Array(c);
  for (let i = 0; i < dataset.size; i++) {
    const img = dataset.image(i);
    s.fill(0);
    q.fill(0);
    for (let j = 0; j < img.length; j += c) {
      for (let k = 0; k < c; k++) {
        const v = img[j + k]!;
        s[k]! += v;
        q[k]! += v * v;
      }
    }
    for (let k = 0; k < c; k++) {
      sum[k]! += s[k]!;
      sq[k]! += q[k]!;
    }
  }
  const n = dataset.size * dataset.sampleShape[0] * dataset.sampleShape[1];
  if (n === 0) throw new DataError('channelStats: the dataset has no images');
  const mean = sum.map((v) => v / n / 255);
  const std = sq.map((v, k) => Math.sqrt(Math.max(0, v / n - (sum[k]! / n) ** 2)) / 255);
  return { mean, std };
}
