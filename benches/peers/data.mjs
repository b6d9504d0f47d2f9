// Inputs and labels shared by every peer benchmark (Node and browser): the
// same deterministic uniform [0, 1) values and labels as benches/step.mjs.

/** n uniform [0, 1) floats from step.mjs' LCG. */
export function uniformInputs(n) {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  return x;
}

/** n class labels. */
export function labels(classes, n) {
  return Uint32Array.from({ length: n }, (_, i) => (i * 7 + 3) % classes);
}

export const size = (shape) => shape.reduce((a, b) => a * b, 1);
