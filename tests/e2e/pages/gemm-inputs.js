// Fixed GEMM inputs shared by the browser page and the Node side of the test.
export function gemmInputs() {
  const m = 67, k = 144, n = 33;
  let s = 12345;
  const next = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const fill = (len) => Float32Array.from({ length: len }, next);
  return { m, k, n, a: fill(m * k), b: fill(k * n), bias: fill(n) };
}
