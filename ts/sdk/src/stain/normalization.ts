/**
 * Stain normalization (Reinhard, Macenko) as the model's stored
 * preprocessing: `fitStainNormalization` derives the target from training
 * images — the per-parameter median over the images whose stains could be
 * estimated (robust to a few odd tiles; Macenko's median stain vectors are
 * re-normalized to unit length) — and `normalizeStains` maps each image to
 * it. A model file stores the target (`metadata.stainNormalization`), and
 * every reader of images (training, evaluate, predict, explain, the browser
 * page) applies it to the decoded 8-bit images before anything else.
 */
import { ConfigError, DataError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { checkStainNormalization, STAIN_NORMALIZATION_KINDS, type StainNormalizationConfig, type StainNormalizationKind } from '../model/metadata.js';
import { defaultEngine } from '../runtime/default-engine.js';
import type { Engine } from '../runtime/engine.js';
import { STAIN_PARAMS } from './abi.js';
import { normalizeInPlace, stainParameters } from './kernels.js';

export interface StainOptions {
  /** Default: the shared default engine. */
  engine?: Engine;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The 8 kernel parameters of a config. */
export function stainTarget(config: StainNormalizationConfig): number[] {
  return config.kind === 'reinhard' ? [...config.mean, ...config.std, 0, 0] : [...config.stains[0], ...config.stains[1], ...config.maxConcentrations];
}

/**
 * Fits a stain normalization target on `images` (`[n, h, w, 3]` uint8, the
 * training images). Throws a `DataError` when no image has estimable stains.
 */
export async function fitStainNormalization(images: Uint8Array, shape: Shape3, kind: StainNormalizationKind, opts: StainOptions = {}): Promise<StainNormalizationConfig> {
  if (!STAIN_NORMALIZATION_KINDS.includes(kind)) throw new ConfigError(`stain normalization: kind must be one of ${STAIN_NORMALIZATION_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const engine = opts.engine ?? (await defaultEngine());
  const { params, valid } = stainParameters(engine, images, shape, kind);
  const rows = valid.flatMap((ok, i) => (ok ? [i] : []));
  if (rows.length === 0) throw new DataError(`stain normalization (${kind}): none of the ${valid.length} training images has enough stained tissue to estimate its stains`);
  // Median of each parameter over the images, rounded to f32 (what the kernel receives), so a saved and reloaded target is bit-identical.
  const m = Array.from({ length: STAIN_PARAMS }, (_, k) => median(rows.map((i) => params[i * STAIN_PARAMS + k]!)));
  const f32 = (v: number) => Math.fround(v);
  const config: StainNormalizationConfig =
    kind === 'reinhard'
      ? { kind, mean: [f32(m[0]!), f32(m[1]!), f32(m[2]!)], std: [f32(m[3]!), f32(m[4]!), f32(m[5]!)] }
      : { kind, stains: [unit(m.slice(0, 3)), unit(m.slice(3, 6))], maxConcentrations: [f32(m[6]!), f32(m[7]!)] };
  return checkStainNormalization(config, (what) => new DataError(`stain normalization: the fitted target is invalid: ${what}`));
}

function unit(v: number[]): [number, number, number] {
  const n = Math.hypot(...v);
  return [Math.fround(v[0]! / n), Math.fround(v[1]! / n), Math.fround(v[2]! / n)];
}

/**
 * A stain-normalized copy of `images` (`[n, h, w, 3]` uint8); `untouched`
 * counts the images left as they were because their own stains could not be
 * estimated (Macenko: less than 1% tissue, e.g. background tiles). With no
 * config (a model's `metadata.stainNormalization` null or absent), `images` itself.
 */
export async function normalizeStains(images: Uint8Array, shape: Shape3, config: StainNormalizationConfig | null | undefined, opts: StainOptions = {}): Promise<{ images: Uint8Array; untouched: number }> {
  if (!config) return { images, untouched: 0 };
  checkStainNormalization(config, (what) => new ConfigError(`stain normalization: ${what}`));
  const engine = opts.engine ?? (await defaultEngine());
  const out = images.slice();
  const untouched = normalizeInPlace(engine, out, shape, config.kind, stainTarget(config));
  return { images: out, untouched };
}
