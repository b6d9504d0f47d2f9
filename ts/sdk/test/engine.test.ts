import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Engine, RuntimeError, ShapeError } from '@lite-cnn/sdk';
import { gemmReference, randomArray, rng } from './reference.js';

const SIZES = [1, 3, 5, 7, 17, 33, 257];

function expectGemmClose(m: number, k: number, n: number, got: Float32Array, want: Float64Array, scale: Float64Array) {
  // Worst-case rounding bound of an in-order f32 dot product of k terms (+ bias).
  const eps = 2 ** -23;
  for (let i = 0; i < got.length; i++) {
    const bound = (k + 2) * eps * scale[i]! + 1e-30;
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= bound)) {
      throw new Error(`gemm m=${m} k=${k} n=${n}: element ${i}: got ${got[i]}, want ${want[i]} (error ${err} > bound ${bound})`);
    }
  }
}

describe('Engine (threaded artifact, Node worker_threads)', () => {
  let e2: Engine;
  let e1: Engine;
  beforeAll(async () => {
    e2 = await Engine.create({ threads: 2, artifact: 'exact' });
    e1 = await Engine.create({ threads: 1, artifact: 'exact' });
  });
  afterAll(async () => {
    await e2.shutdown();
    await e1.shutdown();
  });

  it('reports the artifact, thread count and SIMD128', () => {
    expect(e2.artifact).toBe('threaded');
    expect(e2.threads).toBe(2);
    expect(e1.threads).toBe(1);
    expect(e2.simd).toBe(true);
  });

  it('computes known GEMM values', () => {
    const c = e2.gemm({ m: 2, k: 2, n: 2, a: new Float32Array([1, 2, 3, 4]), b: new Float32Array([5, 6, 7, 8]), bias: new Float32Array([10, 20]) });
    expect(Array.from(c)).toEqual([29, 42, 53, 70]);
  });

  it('matches the f64 reference on awkward shapes', () => {
    const next = rng(7);
    for (const m of SIZES) {
      for (const k of SIZES) {
        for (const n of SIZES) {
          if (m * k * n > 257 * 33 * 33) continue; // the largest corners run in Rust's own suite
          const a = randomArray(m * k, next);
          const b = randomArray(k * n, next);
          const bias = (m + k + n) % 2 === 0 ? randomArray(n, next) : undefined;
          const got = e2.gemm({ m, k, n, a, b, ...(bias ? { bias } : {}) });
          const { c, scale } = gemmReference(m, k, n, a, b, bias);
          expectGemmClose(m, k, n, got, c, scale);
        }
      }
    }
  });

  it('gives bit-identical results with 1 and 2 threads', () => {
    const next = rng(11);
    for (const [m, k, n] of [[1152, 288, 64], [257, 257, 33], [32, 2304, 128]] as const) {
      const a = randomArray(m * k, next);
      const b = randomArray(k * n, next);
      const bias = randomArray(n, next);
      const c2 = e2.gemm({ m, k, n, a, b, bias });
      const c1 = e1.gemm({ m, k, n, a, b, bias });
      expect(Buffer.from(c2.buffer).equals(Buffer.from(c1.buffer)), `${m}x${k}x${n}`).toBe(true);
    }
  });

  it('gives each pool thread a private stack and TLS block', () => {
    const probes = e2.probeThreads();
    expect(probes.map((p) => p.index).sort()).toEqual([0, 1]);
    for (const p of probes) {
      // Each thread read back its own thread-local after all threads wrote theirs.
      expect(p.tlsValue).toBe((0xc0de0000 | p.index) >>> 0);
    }
    const [a, b] = probes as [(typeof probes)[0], (typeof probes)[0]];
    expect(a.tlsAddress).not.toBe(b.tlsAddress);
    // Stacks are 1 MiB blocks allocated per worker: addresses far apart, and
    // neither in the controller's stack (the first MiB of memory).
    expect(Math.abs(a.stackAddress - b.stackAddress)).toBeGreaterThan(64 * 1024);
    for (const p of probes) expect(p.stackAddress).toBeGreaterThan(1 << 20);
  });

  it('re-creates views after memory growth', () => {
    const small = e2.allocF32(4).set([1, 2, 3, 4]);
    const before = e2.memoryBytes;
    const big = e2.allocF32(16 * 1024 * 1024); // 64 MiB forces growth
    expect(e2.memoryBytes).toBeGreaterThan(before);
    expect(Array.from(small.view())).toEqual([1, 2, 3, 4]);
    big.view()[big.length - 1] = 5;
    expect(big.view()[big.length - 1]).toBe(5);
    big.free();
    small.free();
    expect(() => small.view()).toThrow(RuntimeError);
  });

  it('runs GEMM in place on wasm buffers', () => {
    const a = e2.allocF32(6).set([1, 2, 3, 4, 5, 6]);
    const b = e2.allocF32(3).set([1, 0, -1]);
    const c = e2.allocF32(2);
    e2.gemmInto({ m: 2, k: 3, n: 1, a, b, c });
    expect(Array.from(c.view())).toEqual([-2, -2]);
    for (const x of [a, b, c]) x.free();
  });

  it('rejects bad shapes with a message naming expected and received', () => {
    expect(() => e2.gemm({ m: 2, k: 3, n: 2, a: new Float32Array(5), b: new Float32Array(6) })).toThrow(
      /gemm: a must have 6 elements for m=2, k=3, n=2, got 5/,
    );
    const a = e2.allocF32(4);
    expect(() => e2.gemmInto({ m: 2, k: 0, n: 2, a, b: a, c: a })).toThrow(ShapeError);
    expect(() => e2.gemmInto({ m: 2, k: 0, n: 2, a, b: a, c: a })).toThrow(/k must be >= 1, got 0/);
    const c = e2.allocF32(4);
    expect(() => e2.gemmInto({ m: 2, k: 2, n: 2, a, b: a, c: a })).toThrow(/output overlaps an input/);
    expect(() => e2.gemmInto({ m: 20000, k: 20000, n: 2, a, b: a, c })).toThrow(/extend past the end of memory/);
    a.free();
    c.free();
  });

  it('validates the thread count', async () => {
    await expect(Engine.create({ threads: 0 })).rejects.toThrow(ConfigError);
    await expect(Engine.create({ threads: 1.5 })).rejects.toThrow(/threads must be an integer from 1 to 64, got 1.5/);
  });
});

describe('Engine (single-threaded artifact)', () => {
  it('gives the same numbers as the threaded artifact', async () => {
    const single = await Engine.create({ artifact: 'single' });
    const threaded = await Engine.create({ threads: 2, artifact: 'exact' });
    try {
      expect(single.artifact).toBe('single');
      expect(single.threads).toBe(1);
      expect(single.simd).toBe(true);
      const next = rng(3);
      const [m, k, n] = [97, 144, 32];
      const a = randomArray(m * k, next);
      const b = randomArray(k * n, next);
      const bias = randomArray(n, next);
      const cs = single.gemm({ m, k, n, a, b, bias });
      const ct = threaded.gemm({ m, k, n, a, b, bias });
      expect(Buffer.from(cs.buffer).equals(Buffer.from(ct.buffer))).toBe(true);
    } finally {
      await single.shutdown();
      await threaded.shutdown();
    }
  });
});

describe('Engine lifecycle', () => {
  it('refuses calls after shutdown()', async () => {
    const e = await Engine.create({ threads: 1 });
    await e.shutdown();
    expect(() => e.gemm({ m: 1, k: 1, n: 1, a: new Float32Array(1), b: new Float32Array(1) })).toThrow(/used after shutdown/);
  });
});
