/**
 * Shapes and output-size math on the TypeScript side. The formulas are the
 * twins of `crates/kernels/src/geom.rs` (`window_out_size`); a test checks
 * that both sides agree on every layer of the reference nets.
 */
import { ConfigError } from '../errors.js';

/** Per-sample shape `[height, width, channels]` (NHWC without the batch). Flat tensors are `[1, 1, n]`. */
export type Shape3 = readonly [number, number, number];

export type Padding = 'valid' | 'same';

/** Keras semantics: valid → floor((in - k) / s) + 1; same → ceil(in / s). */
export function windowOutSize(input: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(input / stride) : Math.floor((input - kernel) / stride) + 1;
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

/** Keras' padding argument: 'valid' (the default) or 'same'. */
export function checkPadding(value: unknown, where: string): Padding {
  if (value === undefined) return 'valid';
  if (value !== 'valid' && value !== 'same') throw new ConfigError(`${where}: padding must be 'valid' or 'same', got '${String(value)}'`);
  return value;
}
