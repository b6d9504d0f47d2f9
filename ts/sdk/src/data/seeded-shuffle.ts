/**
 * Seeded shuffling without an engine: a TypeScript twin of the kernels'
 * Philox4x32-10 generator and of `lc_rng_shuffle` (crates/kernels/src/rng.rs,
 * ffi/model.rs), so data splits can be made (e.g. by `lite-cnn split`)
 * before any wasm is loaded, from the same PRNG family as everything else.
 * `seededPermutation(n, seed, stream)` equals `permutation(engine, n, seed,
 * stream)` element for element (a test checks it).
 */
import { splitSeed } from '../runtime/rng.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (the low half is Math.imul). */
function mulHi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const carry = ((lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff)) >>> 16;
  return (aHi * bHi + (hilo >>> 16) + (lohi >>> 16) + carry) >>> 0;
}

/** One Philox4x32-10 block; writes the 4 output words into `out`. */
function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Value `i` (a safe integer) of the stream `(seed, stream)`; mirrors `CounterRng::u32_at`. */
class CounterRng {
  private readonly block = new Uint32Array(4);
  private cached = -1;
  constructor(
    private readonly key: readonly [number, number],
    private readonly streamLo: number,
    private readonly streamHi: number,
  ) {}

  at(i: number): number {
    const b = Math.floor(i / 4);
    if (b !== this.cached) {
      philox(b >>> 0, Math.floor(b / 2 ** 32) >>> 0, this.streamLo, this.streamHi, this.key[0], this.key[1], this.block);
      this.cached = b;
    }
    return this.block[i % 4]!;
  }
}

/** `(hi·2^32 + lo) mod m` exactly in doubles (m ≤ 2^32): every product stays below 2^53. */
function mod64(hi: number, lo: number, m: number): number {
  let r = hi % m;
  r = (r * 65536) % m;
  r = (r * 65536) % m;
  return (r + (lo % m)) % m;
}

/**
 * Fisher-Yates over `values` in place, driven by Philox keyed by `seed` on
 * stream `(streamLo, streamHi)` — the algorithm of `lc_rng_shuffle`, which
 * uses `streamHi = 0`. Other uses (splits, oversampling) pass their own
 * `streamHi` tag so their draws are independent of the epoch shuffles.
 */
export function shuffleInPlace<T>(values: { length: number; [i: number]: T }, seed: number, streamLo: number, streamHi = 0): void {
  const rng = new CounterRng(splitSeed(seed), streamLo >>> 0, streamHi >>> 0);
  for (let i = values.length - 1; i >= 1; i--) {
    // 64 random bits per draw: the modulo bias is below 2^-32 for any n.
    const j = mod64(rng.at(2 * i), rng.at(2 * i + 1), i + 1);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}

/** A permutation of `0..n-1` from `(seed, stream)`; equals the engine's `permutation(engine, n, seed, stream)`. */
export function seededPermutation(n: number, seed: number, stream: number): Uint32Array {
  const v = new Uint32Array(n);
  for (let i = 0; i < n; i++) v[i] = i;
  shuffleInPlace(v, seed, stream);
  return v;
}

/** Stream tags (high word of the Philox stream) of the data pipeline's draws. */
export const STREAM_SPLIT = 0x53504c54; // 'SPLT'
export const STREAM_KFOLD = 0x4b464c44; // 'KFLD'
export const STREAM_OVERSAMPLE = 0x4f565253; // 'OVRS'
