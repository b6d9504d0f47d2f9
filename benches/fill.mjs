// Deterministic benchmark inputs: fills an engine buffer (F32Buffer) with
// values in [-0.5, 0.5) from a linear congruential generator seeded by `seed`.
export function fill(buf, seed) {
  const v = buf.view();
  let s = seed;
  for (let i = 0; i < v.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
}
