// The benchmark's images: synthetic H&E-looking 224x224 RGB uint8 tiles, made
// deterministically here (the same construction as the SDK tests' he-tiles.ts,
// Beer-Lambert with torchstain's reference stain vectors, plus some structure
// and a per-tile staining strength so the fitted stain distribution has a
// spread), and the .npy file both sides read, so lite-cnn and PyTorch
// transform the same pixels.
import { readFileSync, writeFileSync } from 'node:fs';

export const COUNT = 64;
export const SIDE = 224;
export const SHAPE = /** @type {[number, number, number]} */ ([SIDE, SIDE, 3]);

const unit = (v) => v.map((x) => x / Math.hypot(...v));
// Optical density per unit concentration (torchstain's reference H and E vectors).
const H = unit([0.5626, 0.7201, 0.4062]);
const E = unit([0.2159, 0.8012, 0.5581]);

/** An LCG's uniform [0, 1) stream (the tests' generator). */
function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * One tile: eosin-stained stroma, haematoxylin-dense nuclei (discs), a few
 * unstained lumina (large discs, near white). Each tile has its own H and E
 * strength (0.7-1.3), as slides stained on different days do.
 */
export function heTile(seed) {
  const u = lcg(seed);
  const discs = (count, rMin, rMax) => Array.from({ length: count }, () => ({ y: u() * SIDE, x: u() * SIDE, r: rMin + u() * (rMax - rMin) }));
  const nuclei = discs(40, 4, 9);
  const lumina = discs(3, 12, 30);
  const inside = (list, y, x) => list.some((d) => (y - d.y) ** 2 + (x - d.x) ** 2 <= d.r * d.r);
  const [sh, se] = [0.7 + 0.6 * u(), 0.7 + 0.6 * u()];
  const out = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const [ch, ce] = inside(lumina, y, x) ? [0.02 * u(), 0.02 * u()] : inside(nuclei, y, x) ? [0.8 + 0.6 * u(), 0.1 * u()] : [0.1 + 0.2 * u(), 0.5 + 0.6 * u()];
      const i = (y * SIDE + x) * 3;
      for (let c = 0; c < 3; c++) out[i + c] = Math.min(255, Math.max(0, Math.round(240 * Math.exp(-(sh * ch * H[c] + se * ce * E[c])) - 1)));
    }
  }
  return out;
}

/** COUNT tiles as one [COUNT, SIDE, SIDE, 3] array. */
export function heTiles() {
  const per = SIDE * SIDE * 3;
  const out = new Uint8Array(COUNT * per);
  for (let i = 0; i < COUNT; i++) out.set(heTile(1000 + i), i * per);
  return out;
}

// .npy v1.0 (numpy's own format): magic, header length, a Python dict literal
// padded so the data starts on a 64-byte boundary, then the C-order bytes.
const MAGIC = '\x93NUMPY';

/** Writes uint8 `data` of `shape` as a .npy file. */
export function writeNpyU8(file, data, shape) {
  let dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write(MAGIC, 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** Reads a uint8 .npy file written by writeNpyU8: { data, shape }. */
export function readNpyU8(file) {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== MAGIC || buf[6] !== 1) throw new Error(`${file}: not a .npy v1 file`);
  const len = buf.readUInt16LE(8);
  const dict = buf.toString('latin1', 10, 10 + len);
  if (!dict.includes("'|u1'") || dict.includes('True')) throw new Error(`${file}: expected C-order uint8, got ${dict.trim()}`);
  const shape = /'shape': \(([^)]*)\)/.exec(dict)[1].split(',').filter((s) => s.trim()).map(Number);
  return { data: new Uint8Array(buf.buffer, buf.byteOffset + 10 + len, buf.length - 10 - len), shape };
}
