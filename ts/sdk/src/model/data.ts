/**
 * Training data as the model consumes it: a `Dataset` yields batches that
 * write their inputs straight into the executor's input buffer. Arrays given
 * to fit/evaluate/predict are wrapped in an `ArrayDataset`; the data pipeline
 * (image folders, MNIST, augmentation) provides other implementations.
 */
import { DataError, ShapeError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { shapeSize } from '../layers/shape.js';
import { argmaxRows } from '../metrics/probs.js';
import type { StagedTransform } from '../data/transform.js';

/** An array with its shape, e.g. `{ data, shape: [n, 28, 28, 1] }`. */
export interface TensorLike {
  data: Float32Array;
  shape: readonly number[];
}

/** Class indices, or `{ data, shape: [n, classes] }` rows of probabilities (categorical). */
export type LabelsLike = Uint8Array | Uint16Array | Uint32Array | Int32Array | readonly number[] | TensorLike;

export interface DataBatch {
  size: number;
  /** Writes this batch's inputs (`[size, h, w, c]`) into `target`. */
  fill(target: Float32Array): void;
  /** Class indices (`size`) or dense targets (`size × classes`). */
  targets: Uint32Array | Float32Array;
  /**
   * Optional, for fit's `prefetch`: does the JavaScript part of `fill(target)`
   * now and returns the engine work that completes it, for fit to run in the
   * same call as the previous batch's training step (`target` is in that
   * engine's memory). Undefined when this batch cannot be staged (fit then
   * calls `fill`).
   */
  stage?(target: Float32Array): StagedTransform | undefined;
}

export interface BatchOptions {
  batchSize: number;
  /** A permutation of sample indices for this epoch, or none to keep the order. */
  order?: Uint32Array;
  /** The epoch being served (keys augmentation and oversampling draws, so a resumed run repeats them). */
  epoch?: number;
}

export interface Dataset {
  readonly size: number;
  readonly sampleShape: Shape3;
  /** Whether targets are dense rows (categorical) rather than class indices. */
  readonly denseTargets: boolean;
  batches(opts: BatchOptions): AsyncIterable<DataBatch> | Iterable<DataBatch>;
  /** Class indices of every sample (for class weights), when known. */
  labels(): Uint32Array | undefined;
}

export function isDataset(v: unknown): v is Dataset {
  return typeof v === 'object' && v !== null && typeof (v as Dataset).batches === 'function' && typeof (v as Dataset).size === 'number';
}

/**
 * Validates `x` against the model's input shape and, unless `scanValues` is
 * false (the caller checks each batch in the engine: `nonFiniteInputError`),
 * that every value is finite.
 */
export function checkInputs(x: TensorLike, sampleShape: Shape3, where: string, scanValues = true): number {
  if (!(x.data instanceof Float32Array)) {
    throw new DataError(`${where}: x.data must be a Float32Array (scale images yourself, e.g. to [0, 1]); got ${Object.prototype.toString.call(x.data)}`);
  }
  const per = shapeSize(sampleShape);
  const n = x.shape[0];
  const rest = x.shape.slice(1);
  const restSize = rest.reduce((a, b) => a * b, 1);
  if (n === undefined || !Number.isInteger(n) || n < 1 || restSize !== per) {
    throw new ShapeError(`${where}: expected x of shape [n, ${sampleShape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  if (x.data.length !== n * per) throw new ShapeError(`${where}: x.shape [${x.shape.join(', ')}] needs ${n * per} values, x.data has ${x.data.length}`);
  if (scanValues) {
    for (let i = 0; i < x.data.length; i++) {
      if (!Number.isFinite(x.data[i]!)) throw nonFiniteInputError(where, x.data[i]!, i, per);
    }
  }
  return n;
}

/** The error for a non-finite input value at flat index `index` (`per` values per sample). */
export function nonFiniteInputError(where: string, value: number, index: number, per: number): DataError {
  return new DataError(`${where}: x contains ${value} at sample ${Math.floor(index / per)} (index ${index}); inputs must be finite`);
}

/** Class-index labels as Uint32, validated against the class count. */
export function checkLabels(y: LabelsLike, n: number, classes: number, where: string): Uint32Array | Float32Array {
  if (!Array.isArray(y) && !ArrayBuffer.isView(y)) {
    const t = y as TensorLike;
    if (t.shape.length !== 2 || t.shape[0] !== n || t.shape[1] !== classes || t.data.length !== n * classes) {
      throw new ShapeError(`${where}: expected targets of shape [${n}, ${classes}], got [${t.shape.join(', ')}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i]!;
      if (!(v >= 0 && v <= 1)) throw new DataError(`${where}: targets must be probabilities in [0, 1], got ${v} at sample ${Math.floor(i / classes)}`);
    }
    return t.data;
  }
  const arr = y as ArrayLike<number>;
  if (arr.length !== n) throw new ShapeError(`${where}: expected ${n} labels (one per sample), got ${arr.length}`);
  const out = new Uint32Array(n);
  const limit = Math.max(classes, 2);
  for (let i = 0; i < n; i++) {
    const v = arr[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= limit) {
      throw new DataError(`${where}: label ${v} at sample ${i} is out of range; expected an integer in [0, ${limit - 1}]`);
    }
    out[i] = v;
  }
  return out;
}

/** In-memory samples (already validated). */
export class ArrayDataset implements Dataset {
  readonly size: number;
  readonly denseTargets: boolean;
  private readonly per: number;

  constructor(
    private readonly x: Float32Array,
    readonly sampleShape: Shape3,
    private readonly y: Uint32Array | Float32Array | undefined,
    private readonly classes: number,
  ) {
    this.per = shapeSize(sampleShape);
    this.size = x.length / this.per;
    this.denseTargets = y instanceof Float32Array;
  }

  labels(): Uint32Array | undefined {
    if (this.y instanceof Uint32Array) return this.y;
    if (!this.y) return undefined;
    // Dense rows: the arg-max class of each row.
    return new Uint32Array(argmaxRows(this.y, this.classes));
  }

  /** Keras' validationSplit: the last `fraction` of samples, taken before any shuffling. */
  splitTail(fraction: number): [ArrayDataset, ArrayDataset] {
    const nVal = Math.floor(this.size * fraction);
    if (nVal < 1 || nVal >= this.size) {
      throw new DataError(`fit: validationSplit ${fraction} of ${this.size} samples leaves ${nVal} for validation and ${this.size - nVal} for training; both must be >= 1`);
    }
    const nTrain = this.size - nVal;
    const t = this.denseTargets ? this.classes : 1;
    const cut = (a: number, b: number) =>
      new ArrayDataset(this.x.subarray(a * this.per, b * this.per), this.sampleShape, this.y?.subarray(a * t, b * t), this.classes);
    return [cut(0, nTrain), cut(nTrain, this.size)];
  }

  *batches(opts: BatchOptions): Iterable<DataBatch> {
    const { batchSize, order } = opts;
    const t = this.denseTargets ? this.classes : 1;
    for (let start = 0; start < this.size; start += batchSize) {
      const size = Math.min(batchSize, this.size - start);
      const idx = (i: number) => (order ? order[start + i]! : start + i);
      const targets = this.y instanceof Float32Array ? new Float32Array(size * t) : new Uint32Array(size);
      if (this.y) {
        for (let i = 0; i < size; i++) targets.set(this.y.subarray(idx(i) * t, idx(i) * t + t), i * t);
      }
      yield {
        size,
        targets,
        fill: (target: Float32Array) => {
          if (!order) {
            target.set(this.x.subarray(start * this.per, (start + size) * this.per));
            return;
          }
          for (let i = 0; i < size; i++) target.set(this.x.subarray(idx(i) * this.per, (idx(i) + 1) * this.per), i * this.per);
        },
      };
    }
  }
}
