/**
 * Range checks of numeric options. Each returns the value or throws a
 * ConfigError that names where the option was given, the option, the range
 * it must lie in and the value received.
 */
import { ConfigError } from './errors.js';

/** The most samples one step may take: the executor's planning limit (MAX_BATCH in crates/kernels/src/exec/model.rs). */
export const MAX_BATCH_SIZE = 65536;

/** Finite and > 0 (or >= 0 with `allowZero`). */
export function positive(value: number, what: string, where: string, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(`${where}: ${what} must be finite and ${allowZero ? '>= 0' : '> 0'}, got ${value}`);
  }
  return value;
}

/** Finite and >= 0. */
export function nonNegative(value: number, what: string, where: string): number {
  return positive(value, what, where, true);
}

/** An integer >= 1. */
export function positiveInt(value: number, what: string, where: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${where}: ${what} must be a positive integer, got ${value}`);
  return value;
}

/** An integer >= 0. */
export function nonNegativeInt(value: number, what: string, where: string): number {
  if (!(Number.isInteger(value) && value >= 0)) throw new ConfigError(`${where}: ${what} must be an integer >= 0, got ${value}`);
  return value;
}
