// scripts/stain-swap.mjs end to end: a folder whose two classes have the same texture and differ only in
// stain colour, so a model can only learn the colour; a 2-fold CV of it is near perfect, and the stress
// test (each class's test tiles given the other class's colour statistics) turns it near 0%.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'ts/cli/dist/main.js');
const SCRIPT = join(ROOT, 'scripts/stain-swap.mjs');
const SIZE = 32;
const PATIENTS = 4;
const PER_PATIENT = 6;

/** Deterministic noise texture (a small LCG) tinted with a class's stain: the same texture law for both classes. */
function tile(seed: number, tint: readonly [number, number, number], spread: readonly [number, number, number]): Buffer {
  const px = Buffer.alloc(SIZE * SIZE * 3);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < SIZE * SIZE; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const t = s / 2147483648;
    for (let c = 0; c < 3; c++) px[i * 3 + c] = Math.round(tint[c]! + spread[c]! * t);
  }
  return px;
}

const STAINS = {
  benign: { tint: [150, 145, 170], spread: [60, 60, 50] },
  malignant: { tint: [200, 90, 160], spread: [50, 90, 60] },
} as const;

let data: string;
let run: string;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'lite-cnn-stain-swap-'));
  data = join(root, 'tiles');
  const manifest = ['file,label,patient'];
  for (const [k, cls] of (['benign', 'malignant'] as const).entries()) {
    mkdirSync(join(data, cls), { recursive: true });
    for (let p = 0; p < PATIENTS; p++) {
      for (let i = 0; i < PER_PATIENT; i++) {
        // One name per patient holds a comma: split.csv and manifest.csv are read and written as quoted CSV.
        const file = `${cls}/p${p}-${i}${i === 0 ? ',first' : ''}.png`;
        const { tint, spread } = STAINS[cls];
        await sharp(tile(1000 * k + 100 * p + i, tint, spread), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(join(data, file));
        manifest.push(`"${file}",${cls},${cls}-${p}`);
      }
    }
  }
  writeFileSync(join(data, 'manifest.csv'), manifest.join('\n') + '\n');
  const arch = join(root, 'arch.json');
  writeFileSync(
    arch,
    JSON.stringify({
      inputShape: [SIZE, SIZE, 3],
      layers: [{ kind: 'Conv2D', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }, { kind: 'GlobalAveragePooling2D' }, { kind: 'Dense', units: 2, activation: 'softmax' }],
    }),
  );
  run = join(root, 'run');
  const r = spawnSync(process.execPath, [CLI, 'train', '--model', arch, '--data', data, '--cv', '2', '--val-ratio', '0.3', '--epochs', '8', '--lr', '0.01', '--batch-size', '8', '--out', run, '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

describe('scripts/stain-swap.mjs', () => {
  it('a model that learned only the stain scores near 0% when each class gets the other class\'s colour', () => {
    const out = join(run, '..', 'swapped');
    const r = spawnSync(process.execPath, [SCRIPT, '--cv', run, '--data', data, '--out', out, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { folds: { fold: number; images: number; accuracy: number; swappedAccuracy: number }[]; accuracy: number; swappedAccuracy: number };
    expect(s.folds.map((f) => f.fold)).toEqual([1, 2]);
    // Each fold tests half the patients: 2 per class.
    expect(s.folds.map((f) => f.images)).toEqual([24, 24]);
    expect(s.accuracy).toBeGreaterThan(0.95);
    expect(s.swappedAccuracy).toBeLessThan(0.1);
    for (const k of [1, 2]) {
      const fold = join(out, `fold-${k}`);
      expect(readdirSync(join(fold, 'benign')).length + readdirSync(join(fold, 'malignant')).length).toBe(24);
      expect(existsSync(join(fold, 'split.csv')) && existsSync(join(fold, 'manifest.csv'))).toBe(true);
    }
  });

  it('refuses a folder that is not a finished CV run, with a usage error', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--cv', data, '--data', data], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no cv\.json: give the folder of a finished train --cv run/);
  });
});
