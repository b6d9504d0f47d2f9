/** Test helpers: a seeded generator and an f64 GEMM reference. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32, mapped to [-1, 1)
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

export function randomArray(len: number, next: () => number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = next();
  return a;
}

/** Reference `A·B + bias` in f64, and `sum |a·b|` per element for error bounds. */
export function gemmReference(m: number, k: number, n: number, a: Float32Array, b: Float32Array, bias?: Float32Array) {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const t = a[i * k + p]! * b[p * n + j]!;
        s += t;
        abs += Math.abs(t);
      }
      c[i * n + j] = s + (bias ? bias[j]! : 0);
      scale[i * n + j] = abs + (bias ? Math.abs(bias[j]!) : 0);
    }
  }
  return { c, scale };
}
