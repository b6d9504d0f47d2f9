/**
 * Parsers for option values. Each rejects with commander's
 * InvalidArgumentError, which the CLI reports as a usage error (exit 2) naming
 * the option and the value it got.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_BATCH_SIZE } from '@lite-cnn/sdk';

function number(value: string): number {
  // Number('') is 0 and Number(' 1') is 1: only plain numerals count.
  return /^\s*$/.test(value) ? Number.NaN : Number(value);
}

export function positiveInt(value: string): number {
  const n = number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** A batch size the engine can plan: 1..MAX_BATCH_SIZE. */
export function batchSize(value: string): number {
  const n = positiveInt(value);
  if (n > MAX_BATCH_SIZE) throw new InvalidArgumentError(`expected at most ${MAX_BATCH_SIZE} samples per step (the engine's limit), got '${value}'`);
  return n;
}

/**
 * A learning rate: > 0 (0 would train nothing, silently) and, as the engine
 * computes in float32, neither rounded to 0 nor overflowing to Infinity there.
 */
export function learningRate(value: string): number {
  const n = number(value);
  const f32 = Math.fround(n);
  if (!(Number.isFinite(n) && n > 0 && Number.isFinite(f32) && f32 > 0)) {
    throw new InvalidArgumentError(`expected a learning rate > 0 that float32 can hold (about 1.4e-45 to 3.4e38), got '${value}'`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got '${value}'`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`expected a number > 0, got '${value}'`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError(`expected a number >= 0, got '${value}'`);
  return n;
}

/** A fraction in [0, 1). */
export function ratio(value: string): number {
  const n = number(value);
  if (!(Number.isFinite(n) && n >= 0 && n < 1)) throw new InvalidArgumentError(`expected a fraction in [0, 1), got '${value}'`);
  return n;
}

/** A factor in (0, 1]. */
export function factor(value: string): number {
  const n = number(value);
  if (!(Number.isFinite(n) && n > 0 && n <= 1)) throw new InvalidArgumentError(`expected a factor in (0, 1], got '${value}'`);
  return n;
}

/** `224` (square) or `224x160` (height x width). */
export function imageSize(value: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  const h = m ? Number(m[1]) : Number.NaN;
  const w = m ? Number(m[2] ?? m[1]) : Number.NaN;
  if (!(Number.isSafeInteger(h) && Number.isSafeInteger(w) && h >= 1 && w >= 1)) {
    throw new InvalidArgumentError(`expected a size like 224 or 224x160 (height x width), got '${value}'`);
  }
  return [h, w];
}

/** A seed for the SDK's PRNG: a non-negative safe integer. */
export function seed(value: string): number {
  return nonNegativeInt(value);
}
