/**
 * Image batches to model inputs in wasm: random augmentation (training) and
 * the model's preprocessing, as one threaded, seeded kernel call per batch
 * (`lc_image_transform`, crates/kernels/src/image).
 *
 * Augmentation follows Keras' `ImageDataGenerator` for the geometry — one
 * affine warp about the image centre with bilinear sampling: rotation,
 * width/height shift, shear (in DEGREES, as Keras), zoom, flips, fill mode —
 * and torchvision's `ColorJitter` for colour (brightness, contrast,
 * saturation, hue, in a random order); for H&E histology, HED stain jitter
 * (Tellez et al. 2019: each haematoxylin/eosin/DAB concentration scaled and
 * shifted in optical density) and stain randomization (RandStainNA, Shen et
 * al. 2022: each image Reinhard-recoloured to L*a*b* statistics drawn from
 * the training images' fitted spread). Every random value of an image is a
 * pure function of `(seed, epoch, sample id)`, so results do not depend on
 * the thread count, the batch size or the image's position in its batch.
 */
import { ConfigError, DataError, RuntimeError, ShapeError } from '../errors.js';
import { FillModeCode, IMAGE_TRANSFORM_ARGS, PreprocessCode, structBytes, writeStruct, type StructValues } from '../exec/abi.js';
import type { Shape3 } from '../layers/shape.js';
import type { PreprocessingConfig } from '../model/metadata.js';
import type { Engine } from '../runtime/engine.js';
import { isEngineView } from '../runtime/engine-view.js';
import { splitSeed } from '../runtime/rng.js';
import { checkStainDistribution, type StainDistribution } from '../stain/randomization.js';
import type { ImageBatch, ImageBatchTransformer, StagedTransform } from './transform.js';

export type FillMode = 'nearest' | 'reflect' | 'constant';

/** Augmentation ranges with Keras (`ImageDataGenerator`) and torchvision (`ColorJitter`) names and meanings. */
export interface AugmentationConfig {
  /** Degrees: the angle is uniform in `[-r, r]` (Keras `rotation_range`). Default 0. */
  rotationRange?: number;
  /** Fraction of the width in `[0, 1]`: shift uniform in `[-f, f]·width` (Keras `width_shift_range`). Default 0. */
  widthShiftRange?: number;
  /** Fraction of the height in `[0, 1]` (Keras `height_shift_range`). Default 0. */
  heightShiftRange?: number;
  /** DEGREES, as Keras' `shear_range` (0.2 means 0.2°, not 0.2 rad): angle uniform in `[-s, s]`. At most 89. Default 0. */
  shearRange?: number;
  /**
   * Keras `zoom_range`: a number `z` in `[0, 1)` means `[1 - z, 1 + z]`, or a pair `[lo, hi]`.
   * Row and column factors are drawn independently; > 1 zooms out. Default 1 (none).
   */
  zoomRange?: number | readonly [number, number];
  /** Mirror left-right with probability 1/2. Default false. */
  horizontalFlip?: boolean;
  /** Mirror top-bottom with probability 1/2. Default false. */
  verticalFlip?: boolean;
  /** Points outside the input: 'nearest' (Keras' default), 'reflect' or 'constant' (`cval`). */
  fillMode?: FillMode;
  /** Fill value of 'constant', on the 0-255 pixel scale (Keras `cval`). Default 0. */
  cval?: number;
  /** torchvision: brightness factor uniform in `[max(0, 1 - b), 1 + b]`. Default 0. */
  brightness?: number;
  /** torchvision: contrast factor uniform in `[max(0, 1 - c), 1 + c]`. Default 0. */
  contrast?: number;
  /** torchvision: saturation factor uniform in `[max(0, 1 - s), 1 + s]` (RGB images only). Default 0. */
  saturation?: number;
  /** torchvision: hue shift uniform in `[-h, h]`, a fraction of the colour wheel, `h <= 0.5` (RGB only). Default 0. */
  hue?: number;
  /**
   * HED stain jitter (RGB only; Tellez et al. 2019, HEDJitter's `theta`): each haematoxylin, eosin and
   * DAB concentration is scaled by a factor uniform in `[1 - s, 1 + s]`, `s <= 1`. Default 0.
   */
  stainScale?: number;
  /** HED stain jitter: each concentration is shifted by a value uniform in `[-s, s]` (optical density), `s <= 1`. Default 0. */
  stainShift?: number;
  /** Stain randomization (RGB only, RandStainNA); absent: none. */
  stainRandomization?: StainRandomization;
}

/**
 * RandStainNA stain randomization: each image (with `probability`) is
 * Reinhard-recoloured, before the geometric warp, to an L*a*b* target whose
 * per-channel mean and standard deviation are drawn from normal
 * distributions centred on the fitted averages, with the fitted spreads
 * multiplied by `spread`.
 */
export interface StainRandomization {
  /** Fitted on the training images: `fitStainDistribution` / `fitDatasetStainDistribution`. */
  distribution: StainDistribution;
  /** Multiplies the fitted spreads (RandStainNA's `1 + std_hyper`): 0 recolours every image to the average statistics. Default 1. */
  spread?: number;
  /** Chance that an image is randomized, in (0, 1]. Default 1. */
  probability?: number;
}

/** A `StainRandomization` with every field present and validated. */
export interface ResolvedStainRandomization {
  distribution: StainDistribution;
  spread: number;
  probability: number;
}

/** An `AugmentationConfig` with every field present and validated. */
export interface ResolvedAugmentation {
  rotationRange: number;
  widthShiftRange: number;
  heightShiftRange: number;
  shearRange: number;
  zoomRange: [number, number];
  horizontalFlip: boolean;
  verticalFlip: boolean;
  fillMode: FillMode;
  cval: number;
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  stainScale: number;
  stainShift: number;
  stainRandomization: ResolvedStainRandomization | null;
}

/**
 * Augmentation used for the study's BreakHis recipe. The study's own Keras
 * `ImageDataGenerator` arguments are not recorded in the project's issue
 * text, so these are the common settings the project adopted in their place:
 * rotation 20°, width/height shift 0.2, shear 0.2 (degrees, Keras' unit),
 * zoom 0.2, horizontal flip, Keras' default fill mode 'nearest'.
 */
export const studyAugmentation: Readonly<AugmentationConfig> = Object.freeze({
  rotationRange: 20,
  widthShiftRange: 0.2,
  heightShiftRange: 0.2,
  shearRange: 0.2,
  zoomRange: 0.2,
  horizontalFlip: true,
  fillMode: 'nearest',
} as const);

const FILL_MODES: readonly FillMode[] = ['nearest', 'reflect', 'constant'];

function show(v: unknown): string {
  return typeof v === 'string' || Array.isArray(v) ? JSON.stringify(v) : String(v);
}

function fail(field: string, expected: string, got: unknown): never {
  throw new ConfigError(`augmentation: ${field} must be ${expected}, got ${show(got)}`);
}

/** A key of `obj` outside `known` (a misspelt option) is a `ConfigError`, never silently ignored. */
function rejectUnknown(obj: object, what: string, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new ConfigError(`augmentation: unknown ${what} '${k}' (expected one of ${known.join(', ')})`);
  }
}

function range(cfg: AugmentationConfig, field: keyof AugmentationConfig, lo: number, hi: number, expected: string): number {
  const v = cfg[field] ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) fail(field, expected, v);
  return v;
}

function flag(cfg: AugmentationConfig, field: 'horizontalFlip' | 'verticalFlip'): boolean {
  const v = cfg[field] ?? false;
  if (typeof v !== 'boolean') fail(field, 'a boolean', v);
  return v;
}

/** Validates an `AugmentationConfig` (errors name the field, the expected and the received value) and fills in defaults. */
export function resolveAugmentation(cfg: AugmentationConfig): ResolvedAugmentation {
  if (typeof cfg !== 'object' || cfg === null) throw new ConfigError(`augmentation: expected an object, got ${String(cfg)}`);
  rejectUnknown(cfg, 'option', ['rotationRange', 'widthShiftRange', 'heightShiftRange', 'shearRange', 'zoomRange', 'horizontalFlip', 'verticalFlip', 'fillMode', 'cval', 'brightness', 'contrast', 'saturation', 'hue', 'stainScale', 'stainShift', 'stainRandomization']);
  let zoomRange: [number, number];
  const z = cfg.zoomRange ?? 0;
  if (typeof z === 'number') {
    if (!Number.isFinite(z) || z < 0 || z >= 1) fail('zoomRange', 'a number in [0, 1) or a pair [lo, hi] with 0 < lo <= hi <= 100', z);
    zoomRange = [1 - z, 1 + z];
  } else {
    if (!Array.isArray(z) || z.length !== 2 || !z.every((v) => typeof v === 'number' && Number.isFinite(v)) || !(z[0] > 0 && z[0] <= z[1] && z[1] <= 100)) {
      fail('zoomRange', 'a number in [0, 1) or a pair [lo, hi] with 0 < lo <= hi <= 100', z);
    }
    zoomRange = [z[0], z[1]];
  }
  const fillMode = cfg.fillMode ?? 'nearest';
  if (!FILL_MODES.includes(fillMode)) fail('fillMode', `one of ${FILL_MODES.map((m) => `'${m}'`).join(', ')}`, fillMode);
  const cval = cfg.cval ?? 0;
  if (typeof cval !== 'number' || !Number.isFinite(cval)) fail('cval', 'a finite number (0-255 pixel scale)', cval);
  return {
    rotationRange: range(cfg, 'rotationRange', 0, 360, 'a number of degrees in [0, 360]'),
    widthShiftRange: range(cfg, 'widthShiftRange', 0, 1, 'a fraction of the width in [0, 1]'),
    heightShiftRange: range(cfg, 'heightShiftRange', 0, 1, 'a fraction of the height in [0, 1]'),
    shearRange: range(cfg, 'shearRange', 0, 89, 'a number of degrees in [0, 89] (Keras shear_range is in degrees)'),
    zoomRange,
    horizontalFlip: flag(cfg, 'horizontalFlip'),
    verticalFlip: flag(cfg, 'verticalFlip'),
    fillMode,
    cval,
    brightness: range(cfg, 'brightness', 0, 1e6, 'a finite number >= 0'),
    contrast: range(cfg, 'contrast', 0, 1e6, 'a finite number >= 0'),
    saturation: range(cfg, 'saturation', 0, 1e6, 'a finite number >= 0'),
    hue: range(cfg, 'hue', 0, 0.5, 'a fraction of the colour wheel in [0, 0.5]'),
    stainScale: range(cfg, 'stainScale', 0, 1, 'a number in [0, 1]'),
    stainShift: range(cfg, 'stainShift', 0, 1, 'a number in [0, 1]'),
    stainRandomization: cfg.stainRandomization === undefined ? null : resolveStainRandomization(cfg.stainRandomization),
  };
}

function resolveStainRandomization(r: StainRandomization): ResolvedStainRandomization {
  if (typeof r !== 'object' || r === null) fail('stainRandomization', 'an object { distribution, spread?, probability? }', r);
  rejectUnknown(r, 'stainRandomization option', ['distribution', 'spread', 'probability']);
  const spread = r.spread ?? 1;
  if (typeof spread !== 'number' || !Number.isFinite(spread) || spread < 0 || spread > 10) fail('stainRandomization.spread', 'a number in [0, 10]', spread);
  const probability = r.probability ?? 1;
  if (typeof probability !== 'number' || !(probability > 0 && probability <= 1)) fail('stainRandomization.probability', 'a number in (0, 1]', probability);
  return { distribution: checkStainDistribution(r.distribution, 'augmentation: stainRandomization'), spread, probability };
}

const NO_AUGMENTATION: ResolvedAugmentation = resolveAugmentation({});

function checkPreprocessing(p: PreprocessingConfig): PreprocessingConfig {
  const bad = (expected: string, got: unknown) => {
    throw new ConfigError(`preprocessing: ${expected}, got ${show(got)}`);
  };
  if (typeof p !== 'object' || p === null || !(p.kind in PreprocessCode)) bad("kind must be one of 'none', 'minmax', 'caffe', 'standardize'", (p as { kind?: unknown } | null)?.kind);
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (p.kind === 'caffe' && !(Array.isArray(p.mean) && p.mean.length === 3 && p.mean.every(finite))) bad('caffe mean must be 3 finite numbers (BGR order, 0-255 scale)', p.mean);
  if (p.kind === 'standardize') {
    if (!(Array.isArray(p.mean) && (p.mean.length === 1 || p.mean.length === 3) && p.mean.every(finite))) bad('standardize mean must be 1 or 3 finite numbers (one per channel)', p.mean);
    if (!(Array.isArray(p.std) && p.std.length === p.mean.length && p.std.every((v) => finite(v) && v > 0))) {
      bad(`standardize std must be ${p.mean.length} finite numbers > 0 (one per channel, like mean)`, p.std);
    }
  }
  return p;
}

export interface WasmImageTransformerOptions {
  /** What the model expects (stored in its file): applied to every batch. */
  preprocessing: PreprocessingConfig;
  /** Random augmentation for batches with `augment: true`; omitted: none. */
  augmentation?: AugmentationConfig;
  /** Seeds the augmentation draws (a non-negative safe integer). */
  seed: number;
}

type RandStainArgs = Pick<StructValues<typeof IMAGE_TRANSFORM_ARGS>, Extract<(typeof IMAGE_TRANSFORM_ARGS)[number][0], `randStain${string}`>>;

/** The kernel's stain randomization fields: the distribution with its spreads scaled; probability 0 when off. */
function randStainArgs(r: ResolvedStainRandomization | null): RandStainArgs {
  const d = r?.distribution;
  const k = r?.spread ?? 0;
  const at = (v: readonly number[] | undefined, i: number, scale = 1) => (v ? v[i]! * scale : 0);
  return {
    randStainMeanAvg0: at(d?.means.mean, 0), randStainMeanAvg1: at(d?.means.mean, 1), randStainMeanAvg2: at(d?.means.mean, 2),
    randStainMeanStd0: at(d?.means.std, 0, k), randStainMeanStd1: at(d?.means.std, 1, k), randStainMeanStd2: at(d?.means.std, 2, k),
    randStainStdAvg0: at(d?.stds.mean, 0), randStainStdAvg1: at(d?.stds.mean, 1), randStainStdAvg2: at(d?.stds.mean, 2),
    randStainStdStd0: at(d?.stds.std, 0, k), randStainStdStd1: at(d?.stds.std, 1, k), randStainStdStd2: at(d?.stds.std, 2, k),
    randStainProbability: r?.probability ?? 0,
  };
}

/** Arguments of `WasmImageTransformer.transform` (copying convenience). */
export interface TransformImagesArgs {
  /** `[n, h, w, c]` uint8 images (anywhere in JS memory). */
  images: Uint8Array;
  shape: Shape3;
  /** One id per image; default `0..n-1`. */
  sampleIds?: ArrayLike<number>;
  /** Default 0. */
  epoch?: number;
  /** Default false (preprocessing only). */
  augment?: boolean;
}

interface Staging {
  engine: Engine;
  argsPtr: number;
  idsPtr: number;
  idsCapacity: number;
}

const registry = new FinalizationRegistry<Staging>((s) => releaseStaging(s));

function releaseStaging(s: Staging): void {
  try {
    s.engine.memory.free(s.argsPtr, structBytes(IMAGE_TRANSFORM_ARGS), 16);
    if (s.idsCapacity > 0) s.engine.memory.free(s.idsPtr, s.idsCapacity * 4, 16);
  } catch {
    // The engine was shut down: its memory is gone with it.
  }
}

/**
 * The wasm `ImageBatchTransformer`: `run(batch)` writes `batch.dst` from
 * `batch.src` in one kernel call (parallel over images on the engine's
 * threads). `src`, `dst` (and preferably `sampleIds`) must be views into the
 * engine's wasm memory; `run` then allocates nothing, so views the caller
 * holds stay valid.
 */
export class WasmImageTransformer implements ImageBatchTransformer {
  readonly preprocessing: PreprocessingConfig;
  /** The validated augmentation, or null when none was given. */
  readonly augmentation: ResolvedAugmentation | null;
  readonly seed: number;
  private readonly staging: Staging;
  private readonly seedWords: [number, number];
  private freed = false;

  constructor(
    private readonly engine: Engine,
    options: WasmImageTransformerOptions,
  ) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('WasmImageTransformer: expected options { preprocessing, augmentation?, seed }');
    this.preprocessing = checkPreprocessing(options.preprocessing);
    this.augmentation = options.augmentation === undefined ? null : resolveAugmentation(options.augmentation);
    this.seedWords = splitSeed(options.seed);
    this.seed = options.seed;
    this.staging = { engine, argsPtr: engine.memory.alloc(structBytes(IMAGE_TRANSFORM_ARGS), 16), idsPtr: 0, idsCapacity: 0 };
    registry.register(this, this.staging, this);
  }

  run(batch: ImageBatch): void {
    const { argsPtr } = this.stage(batch);
    this.engine.call('imageTransform', () => this.engine.raw.lc_image_transform(argsPtr));
  }

  /**
   * Validates `batch` and writes its kernel arguments without running them:
   * the returned `lc_image_transform` arguments are run by a later engine call
   * (`CompiledModel.trainStep`'s `prefetch`, beside a training step). Valid
   * until the next `stage` or `run`; `dst` must not be read before that call.
   */
  stage(batch: ImageBatch): StagedTransform {
    if (this.freed) throw new RuntimeError('WasmImageTransformer: used after free()');
    const { n, shape, epoch, augment } = batch;
    const [h, w, c] = shape;
    if (!Number.isInteger(n) || n < 1) throw new ShapeError(`image transform: n must be an integer >= 1, got ${n}`);
    if (![h, w].every((v) => Number.isInteger(v) && v >= 1) || (c !== 1 && c !== 3)) {
      throw new ShapeError(`image transform: shape must be [h >= 1, w >= 1, c = 1 or 3], got [${shape.join(', ')}]`);
    }
    const len = n * h * w * c;
    const dims = `${n} × ${h} × ${w} × ${c}`;
    if (batch.src.length !== len) throw new ShapeError(`image transform: src must hold ${dims} = ${len} bytes, got ${batch.src.length}`);
    if (batch.dst.length !== len) throw new ShapeError(`image transform: dst must hold ${dims} = ${len} values, got ${batch.dst.length}`);
    if (batch.sampleIds.length !== n) throw new ShapeError(`image transform: expected ${n} sample ids, got ${batch.sampleIds.length}`);
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) throw new ConfigError(`image transform: epoch must be an integer in [0, 2^32), got ${epoch}`);
    if (typeof augment !== 'boolean') throw new ConfigError(`image transform: augment must be a boolean, got ${String(augment)}`);
    if (this.preprocessing.kind === 'standardize' && this.preprocessing.mean.length !== c) {
      throw new ShapeError(`image transform: standardize has ${this.preprocessing.mean.length} channel statistics but the images have ${c} channels`);
    }
    this.checkInMemory(batch.src, 'src');
    this.checkInMemory(batch.dst, 'dst');
    // Pointers first: nothing below may invalidate them.
    const srcPtr = batch.src.byteOffset;
    const dstPtr = batch.dst.byteOffset;
    let idsPtr: number;
    if (this.isInMemory(batch.sampleIds)) {
      idsPtr = batch.sampleIds.byteOffset;
    } else {
      idsPtr = this.idsStaging(n);
      this.engine.memory.u32(idsPtr, n).set(batch.sampleIds);
    }
    const a = this.augmentation;
    const g = augment && a ? a : NO_AUGMENTATION;
    const p = this.preprocessing;
    const mean = p.kind === 'caffe' || p.kind === 'standardize' ? p.mean : [0, 0, 0];
    const std = p.kind === 'standardize' ? p.std : [1, 1, 1];
    const values: StructValues<typeof IMAGE_TRANSFORM_ARGS> = {
      srcPtr,
      dstPtr,
      idsPtr,
      n,
      h,
      w,
      c,
      seedLo: this.seedWords[0],
      seedHi: this.seedWords[1],
      epoch,
      augment: augment && a ? 1 : 0,
      rotation: g.rotationRange,
      widthShift: g.widthShiftRange,
      heightShift: g.heightShiftRange,
      shear: g.shearRange,
      zoomLo: g.zoomRange[0],
      zoomHi: g.zoomRange[1],
      hflip: g.horizontalFlip ? 1 : 0,
      vflip: g.verticalFlip ? 1 : 0,
      fillMode: FillModeCode[g.fillMode],
      fillValue: g.cval,
      brightness: g.brightness,
      contrast: g.contrast,
      saturation: g.saturation,
      hue: g.hue,
      stainScale: g.stainScale,
      stainShift: g.stainShift,
      ...randStainArgs(c === 3 ? g.stainRandomization : null),
      preprocess: PreprocessCode[p.kind],
      mean0: mean[0] ?? 0,
      mean1: mean[1] ?? 0,
      mean2: mean[2] ?? 0,
      std0: std[0] ?? 1,
      std1: std[1] ?? 1,
      std2: std[2] ?? 1,
    };
    writeStruct(this.engine.memory.memory.buffer, this.staging.argsPtr, IMAGE_TRANSFORM_ARGS, values);
    return { engine: this.engine, argsPtr: this.staging.argsPtr };
  }

  /** Copies `images` into wasm memory, transforms them and returns a new array (for previews, tests, one-off inference). */
  transform(args: TransformImagesArgs): Float32Array {
    const [h, w, c] = args.shape;
    const per = h * w * c;
    if (!(args.images instanceof Uint8Array)) throw new ShapeError('image transform: images must be a Uint8Array');
    const n = per > 0 ? args.images.length / per : 0;
    if (!Number.isInteger(n) || n < 1) throw new ShapeError(`image transform: images must hold a whole number (>= 1) of ${h} × ${w} × ${c} images, got ${args.images.length} bytes`);
    const ids = Uint32Array.from(args.sampleIds ?? Array.from({ length: n }, (_, i) => i));
    const heap = this.engine.memory;
    this.idsStaging(n);
    const src = heap.alloc(n * per, 16);
    let dst = 0;
    try {
      dst = heap.alloc(n * per * 4, 16);
      heap.u8(src, n * per).set(args.images);
      this.run({ src: heap.u8(src, n * per), dst: heap.f32(dst, n * per), n, shape: args.shape, sampleIds: ids, epoch: args.epoch ?? 0, augment: args.augment ?? false });
      return heap.f32(dst, n * per).slice();
    } finally {
      heap.free(src, n * per, 16);
      if (dst) heap.free(dst, n * per * 4, 16);
    }
  }

  /** Releases the staging buffers now (otherwise when garbage-collected). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    registry.unregister(this);
    releaseStaging(this.staging);
  }

  private idsStaging(n: number): number {
    const s = this.staging;
    if (s.idsCapacity < n) {
      if (s.idsCapacity > 0) this.engine.memory.free(s.idsPtr, s.idsCapacity * 4, 16);
      s.idsCapacity = 0;
      const cap = Math.max(n, 64);
      s.idsPtr = this.engine.memory.alloc(cap * 4, 16);
      s.idsCapacity = cap;
    }
    return s.idsPtr;
  }

  private isInMemory(view: ArrayBufferView): boolean {
    return isEngineView(this.engine, view);
  }

  private checkInMemory(view: ArrayBufferView, name: string): void {
    if (!this.isInMemory(view)) {
      throw new DataError(`image transform: ${name} must be a view into this engine's wasm memory (e.g. engine.memory.u8(ptr, length)); use transform() for arrays elsewhere`);
    }
  }
}
