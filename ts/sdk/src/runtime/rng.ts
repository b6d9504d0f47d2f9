/**
 * Seeded randomness on the TypeScript side goes through the kernels'
 * generator (Philox4x32-10, crates/kernels/src/rng.rs), so initialization,
 * shuffling and augmentation all come from one seeded PRNG family.
 */
import { ConfigError } from '../errors.js';
import type { Engine } from './engine.js';

export function splitSeed(seed: number): [lo: number, hi: number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError(`seed must be a non-negative safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** A permutation of `0..n-1` drawn from `(seed, stream)` (e.g. stream = epoch). */
export function permutation(engine: Engine, n: number, seed: number, stream: number): Uint32Array {
  if (n === 0) return new Uint32Array(0);
  const heap = engine.memory;
  const ptr = heap.alloc(n * 4, 16);
  try {
    const v = heap.u32(ptr, n);
    for (let i = 0; i < n; i++) v[i] = i;
    const [lo, hi] = splitSeed(seed);
    engine.call('shuffle', () => engine.raw.lc_rng_shuffle(ptr, n, lo, hi, stream >>> 0));
    return heap.u32(ptr, n).slice();
  } finally {
    heap.free(ptr, n * 4, 16);
  }
}
