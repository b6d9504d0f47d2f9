/**
 * Test-time augmentation: a model's probabilities averaged over symmetric
 * views of each input — `flips` (identity, left-right, top-bottom, both:
 * 4 views) or `d4` (the 8 symmetries of the square: every rotation by a
 * quarter turn, with and without a mirror; square inputs only). Histology
 * tiles have no preferred orientation, so every view is as valid as the
 * original and averaging cancels orientation-dependent errors.
 *
 * Works on any `Dataset` (the views transform the model inputs each batch
 * writes) and any model with `predict(dataset, { batchSize })`.
 */
import { ConfigError, ShapeError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { isDataset, type BatchOptions, type DataBatch, type Dataset, type TensorLike } from '../model/data.js';
import { ArrayDataset } from '../model/data.js';

export type TtaMode = 'none' | 'flips' | 'd4';
export const TTA_MODES: readonly TtaMode[] = ['none', 'flips', 'd4'];

/** Output pixel `(r, c)` of a view reads input `(flipRows ? h-1-r' : r', flipCols ? w-1-c' : c')` with `(r', c') = transpose ? (c, r) : (r, c)`. */
export interface View {
  transpose: boolean;
  flipRows: boolean;
  flipCols: boolean;
}

const IDENTITY: View = { transpose: false, flipRows: false, flipCols: false };

/** The views of a mode, the identity first. */
export function ttaViews(mode: TtaMode): View[] {
  const flips: View[] = [IDENTITY, { ...IDENTITY, flipCols: true }, { ...IDENTITY, flipRows: true }, { ...IDENTITY, flipRows: true, flipCols: true }];
  switch (mode) {
    case 'none':
      return [IDENTITY];
    case 'flips':
      return flips;
    case 'd4':
      // The 4 flips with and without a transpose: the dihedral group of the square.
      return [...flips, ...flips.map((v) => ({ ...v, transpose: true }))];
    default:
      throw new ConfigError(`test-time augmentation: mode must be one of ${TTA_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

/** Writes `view` of one `[h, w, c]` image `src` into `dst` (`h == w` when transposing). */
export function applyView(view: View, src: Float32Array, [h, w, c]: Shape3, dst: Float32Array): void {
  for (let r = 0; r < h; r++) {
    for (let col = 0; col < w; col++) {
      let [sr, sc] = view.transpose ? [col, r] : [r, col];
      if (view.flipRows) sr = h - 1 - sr;
      if (view.flipCols) sc = w - 1 - sc;
      const o = (r * w + col) * c;
      const s = (sr * w + sc) * c;
      for (let k = 0; k < c; k++) dst[o + k] = src[s + k]!;
    }
  }
}

/** `base` with every input seen through `view`. */
class ViewDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: Shape3;
  readonly denseTargets: boolean;

  constructor(
    private readonly base: Dataset,
    private readonly view: View,
  ) {
    this.size = base.size;
    this.sampleShape = base.sampleShape;
    this.denseTargets = base.denseTargets;
  }

  labels(): Uint32Array | undefined {
    return this.base.labels();
  }

  async *batches(opts: BatchOptions): AsyncIterable<DataBatch> {
    const shape = this.sampleShape;
    const per = shape[0] * shape[1] * shape[2];
    const scratch = new Float32Array(per);
    for await (const batch of this.base.batches(opts)) {
      yield {
        size: batch.size,
        targets: batch.targets,
        fill: (target: Float32Array) => {
          batch.fill(target);
          for (let i = 0; i < batch.size; i++) {
            const img = target.subarray(i * per, (i + 1) * per);
            scratch.set(img);
            applyView(this.view, scratch, shape, img);
          }
        },
      };
    }
  }
}

/** What test-time augmentation needs of a model. */
export interface Predictor {
  predict(x: Dataset, args: { batchSize?: number; calibrated?: boolean }): Promise<Float32Array>;
  /** A stored probability calibration (Model.calibrateOutputs), applied once to the averaged outputs. */
  calibrateOutputs?(outputs: Float32Array): Float32Array;
}

export interface TtaOptions {
  /** Default 'none' (one plain prediction). */
  tta?: TtaMode;
  batchSize?: number;
  /**
   * The model's stored calibration is applied once, to the views' averaged
   * outputs (as to one plain prediction: the same map, the same scale of
   * the decision threshold); false: the network's own averaged outputs.
   */
  calibrated?: boolean;
}

/**
 * Probabilities `[n, outputs]` averaged over the views of `opts.tta`.
 * `x`: a Dataset, or inputs `{ data, shape: [n, h, w, c] }` already preprocessed.
 */
export async function predictWithTta(model: Predictor, x: Dataset | TensorLike, opts: TtaOptions = {}): Promise<Float32Array> {
  const views = ttaViews(opts.tta ?? 'none');
  const data = isDataset(x) ? x : new ArrayDataset(x.data, x.shape.slice(1) as unknown as Shape3, undefined, 0);
  const [h, w] = data.sampleShape;
  if (opts.tta === 'd4' && h !== w) throw new ShapeError(`test-time augmentation 'd4' rotates by quarter turns: it needs square inputs, got ${h} × ${w} (use 'flips')`);
  const args = { ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}), ...(opts.calibrated !== undefined ? { calibrated: opts.calibrated } : {}) };
  if (views.length === 1) return model.predict(data, args);
  let sum: Float64Array | null = null;
  for (const view of views) {
    const p = await model.predict(new ViewDataset(data, view), { ...args, calibrated: false });
    sum ??= new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) sum[i]! += p[i]!;
  }
  const mean = Float32Array.from(sum!, (v) => v / views.length);
  return opts.calibrated !== false && model.calibrateOutputs ? model.calibrateOutputs(mean) : mean;
}
