/**
 * Shapes and output-size math on the TypeScript side. The formulas are the
 * twins of `crates/kernels/src/geom.rs` (`window_out_size`); a test checks
 * that both sides agree on every layer of the reference nets.
 */
import { ConfigError, ShapeError } from '../errors.js';
import { PaddingCode } from '../exec/abi.js';

/** Per-sample shape `[height, width, channels]` (NHWC without the batch). Flat tensors are `[1, 1, n]`. */
export type Shape3 = readonly [number, number, number];

/** Zero (or, for max pooling, -inf) cells on each side of the plane. */
export interface ExplicitPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Keras' 'valid' and 'same', or explicit (possibly asymmetric) pads as in PyTorch and ONNX. */
export type Padding = 'valid' | 'same' | ExplicitPadding;

/** What users may write: Keras' names, one pad for all sides, `[h, w]`, or `[[top, bottom], [left, right]]`. */
export type PaddingArg = 'valid' | 'same' | number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]] | ExplicitPadding;

/**
 * Output size of one axis. Keras semantics: valid → floor((in - k) / s) + 1;
 * same → ceil(in / s). Explicit pads → floor((in + before + after - k) / s) + 1,
 * or with PyTorch's `ceilMode` ceil(...) + 1, dropping a last window that
 * would start beyond the input and the leading pad.
 */
export function windowOutSize(input: number, kernel: number, stride: number, padding: Padding, axis: 'h' | 'w' = 'h', ceilMode = false): number {
  if (padding === 'same') return Math.ceil(input / stride);
  const [before, after] = padding === 'valid' ? [0, 0] : axis === 'h' ? [padding.top, padding.bottom] : [padding.left, padding.right];
  const span = input + before + after - kernel;
  if (span < 0) return 0;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  if ((out - 1) * stride >= input + before) out--;
  return out;
}

export function shapeSize(s: Shape3): number {
  return s[0] * s[1] * s[2];
}

export function formatShape(s: Shape3, batch: string | number = 'batch'): string {
  return s[0] === 1 && s[1] === 1 ? `[${batch}, ${s[2]}]` : `[${batch}, ${s[0]}, ${s[1]}, ${s[2]}]`;
}

/** A number or a pair (Keras' `kernel_size=3` or `(3, 2)`) as a validated pair of positive integers. */
export function pair(value: number | readonly [number, number], what: string, where: string): [number, number] {
  const p: unknown[] = typeof value === 'number' ? [value, value] : Array.isArray(value) && value.length === 2 ? [value[0], value[1]] : [value];
  if (p.length !== 2 || !p.every((v) => Number.isInteger(v) && (v as number) >= 1)) {
    throw new ConfigError(`${where}: ${what} must be positive integers, got ${JSON.stringify(value)}`);
  }
  return p as [number, number];
}

/** The padding argument: 'valid' (the default), 'same', or explicit non-negative pads. */
export function checkPadding(value: unknown, where: string): Padding {
  if (value === undefined || value === 'valid') return 'valid';
  if (value === 'same') return 'same';
  const pads = explicitPads(value);
  if (!pads) {
    const got = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
    throw new ConfigError(`${where}: padding must be 'valid' or 'same', got ${got} (explicit pads are also accepted: a non-negative integer, [h, w], [[top, bottom], [left, right]] or { top, bottom, left, right })`);
  }
  return pads;
}

function explicitPads(v: unknown): ExplicitPadding | null {
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (ok(v)) return { top: v, bottom: v, left: v, right: v };
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v as unknown[];
    if (ok(a) && ok(b)) return { top: a, bottom: a, left: b, right: b };
    if (Array.isArray(a) && Array.isArray(b) && a.length === 2 && b.length === 2 && [...a, ...b].every(ok)) {
      return { top: a[0] as number, bottom: a[1] as number, left: b[0] as number, right: b[1] as number };
    }
    return null;
  }
  if (typeof v === 'object' && v !== null) {
    const p = v as Record<string, unknown>;
    const keys = Object.keys(p).sort().join(',');
    if (keys === 'bottom,left,right,top' && ok(p.top) && ok(p.bottom) && ok(p.left) && ok(p.right)) return { top: p.top, bottom: p.bottom, left: p.left, right: p.right };
  }
  return null;
}

/** The executor's padding fields for a padding. */
export function paddingFields(p: Padding): { padding: number; padTop: number; padBottom: number; padLeft: number; padRight: number } {
  if (p === 'valid') return { padding: PaddingCode.VALID, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };
  if (p === 'same') return { padding: PaddingCode.SAME, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };
  return { padding: PaddingCode.EXPLICIT, padTop: p.top, padBottom: p.bottom, padLeft: p.left, padRight: p.right };
}

/** The executor's window fields (kernel or pool size, strides, padding) of a sliding-window layer. */
export function windowFields(w: { size: readonly [number, number]; strides: readonly [number, number]; padding: Padding }) {
  return { sizeH: w.size[0], sizeW: w.size[1], strideH: w.strides[0], strideW: w.strides[1], ...paddingFields(w.padding) };
}

/** 'valid', 'same' or `pads(t, b, l, r)` for summaries and error messages. */
export function formatPadding(p: Padding): string {
  return typeof p === 'string' ? p : `pads(${p.top}, ${p.bottom}, ${p.left}, ${p.right})`;
}

export function normalizeInputShape(shape: readonly number[] | undefined, where: string): Shape3 | null {
  if (shape === undefined) return null;
  if (shape.length === 0 || shape.length > 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`${where}: inputShape must be 1 to 3 positive integers ([h, w, c] or [features]), got [${shape.join(', ')}]`);
  }
  if (shape.length === 1) return [1, 1, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!, 1];
  return [shape[0]!, shape[1]!, shape[2]!];
}

