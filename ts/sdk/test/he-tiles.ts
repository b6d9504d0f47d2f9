/** Synthetic H&E tiles for the stain tests (torchstain's reference stain vectors). */
export const H_VEC = [0.5626, 0.7201, 0.4062];
export const E_VEC = [0.2159, 0.8012, 0.5581];
export const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));

/** A synthetic H&E tile: 10% pure haematoxylin, 10% pure eosin, 10% background, the rest mixtures. */
export function tile(side: number, seed: number, stains: [number[], number[]] = [unit(H_VEC), unit(E_VEC)], strength = 1): Uint8Array {
  let s = seed >>> 0 || 1;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    const k = i % 10;
    const [ch, ce] = k === 0 ? [0.5 + u(), 0] : k === 1 ? [0, 0.8 + 0.7 * u()] : k === 2 ? [0, 0] : [0.2 + u(), 0.2 + 0.6 * u()];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(240 * Math.exp(-strength * (stains[0][c]! * ch + stains[1][c]! * ce)) - 1)));
  }
  return out;
}

export const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
