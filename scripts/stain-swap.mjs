#!/usr/bin/env node
// How much does a binary classifier of H&E tiles rely on stain colour? For each fold of a finished
// `lite-cnn train --cv K` run, the fold's test images are recoloured (Reinhard: L*a*b* means and
// standard deviations) to the median colour statistics of the OTHER class's training images of that
// fold, and the fold's model is evaluated on them with `lite-cnn evaluate` (its own preprocessing, stain
// normalization and stored threshold). The tissue is untouched; only the colour of one class is given to
// the other. A model that reads morphology keeps its accuracy; one that learned "this stain is that
// class" falls towards 0% (docs/histology.md, "Stain is a shortcut in the shared tiles").
//
//   node scripts/stain-swap.mjs --cv runs/histology-cv --data ../shared/data/breakhis-200x-tiles [--out DIR] [--json]
//
// Needs the built SDK and CLI (npm run build). The recoloured folds are written as PNG under --out
// (default: a fresh folder under the OS temp dir) and kept, so they can be looked at.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImages, fitStainNormalization, formatCsv, manifestKey, normalizeStains, parseCsv, readSplitCsv, writeSplitCsv } from '@lite-cnn/sdk';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'ts/cli/dist/main.js');

function usage(error) {
  const text = 'usage: node scripts/stain-swap.mjs --cv RUN_DIR --data DIR [--out DIR] [--json]';
  if (error) {
    console.error(`stain-swap: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function parseArgs(argv) {
  const o = { cv: null, data: null, out: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--cv') o.cv = path.resolve(value());
    else if (a === '--data') o.data = path.resolve(value());
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--json') o.json = true;
    else if (a === '-h' || a === '--help') usage(null);
    else usage(`unknown option ${a}`);
  }
  if (!o.cv || !o.data) usage('--cv and --data are required');
  if (!existsSync(path.join(o.cv, 'cv.json'))) usage(`${o.cv} has no cv.json: give the folder of a finished train --cv run`);
  return o;
}

/** The recoloured copy's path: the same relative path as PNG (lossless). */
const pngPath = (p) => p.replace(/\.[^./]+$/, '.png');

function runCli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`lite-cnn ${args.join(' ')} exited with ${code}:\n${err}`))));
  });
}

/** The fold's test images recoloured to the other class's training stain, written as PNG with their split.csv (and manifest.csv when the data has one). */
async function swapFold(data, rows, out, shape, aspect) {
  const classes = [...new Set(rows.map((r) => r.className))].sort();
  if (classes.length !== 2) throw new Error(`stain swap needs exactly 2 classes, the split has ${classes.length} (${classes.join(', ')})`);
  const decode = async (list) => (await decodeImages(list.map((r) => path.join(data, r.path)), { shape, aspect })).images;
  const training = rows.filter((r) => r.split !== 'test');
  const test = rows.filter((r) => r.split === 'test');
  const per = shape[0] * shape[1] * shape[2];
  for (const [k, cls] of classes.entries()) {
    const other = classes[1 - k];
    const target = await fitStainNormalization(await decode(training.filter((r) => r.className === other)), shape, 'reinhard');
    const mine = test.filter((r) => r.className === cls);
    const { images } = await normalizeStains(await decode(mine), shape, target);
    for (const [i, r] of mine.entries()) {
      const file = path.join(out, pngPath(r.path));
      await mkdir(path.dirname(file), { recursive: true });
      await sharp(Buffer.from(images.subarray(i * per, (i + 1) * per)), { raw: { width: shape[1], height: shape[0], channels: 3 } }).png().toFile(file);
    }
  }
  await writeSplitCsv(path.join(out, 'split.csv'), test.map((r) => ({ ...r, path: pngPath(r.path) })));
  // The manifest's rows of the test images (subtype and patient columns for evaluate), renamed like them.
  const manifest = path.join(data, 'manifest.csv');
  if (existsSync(manifest)) {
    const table = parseCsv(await readFile(manifest, 'utf8'), manifest);
    const file = ['file', 'path'].map((c) => table.header.indexOf(c)).find((i) => i >= 0);
    if (file === undefined) throw new Error(`${manifest}: expected a 'file' (or 'path') column, got ${table.header.join(', ')}`);
    const wanted = new Set(test.map((r) => manifestKey(r.path)));
    const kept = table.rows.filter((row) => wanted.has(manifestKey(row[file]))).map((row) => row.map((v, i) => (i === file ? pngPath(manifestKey(v)) : v)));
    await writeFile(path.join(out, 'manifest.csv'), formatCsv(table.header, kept));
  }
  return test.length;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const out = o.out ?? mkdtempSync(path.join(os.tmpdir(), 'lite-cnn-stain-swap-'));
  const cv = JSON.parse(await readFile(path.join(o.cv, 'cv.json'), 'utf8'));
  const config = JSON.parse(await readFile(path.join(o.cv, 'config.json'), 'utf8'));
  const shape = config.model?.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) throw new Error(`${path.join(o.cv, 'config.json')} records no model input shape (model.inputShape)`);
  if (shape[2] !== 3) throw new Error(`stain swap needs RGB inputs, the model's input is ${shape.join('x')}`);
  // Decoded as the run decoded its images (squash or center-crop to the input size), then recoloured.
  const aspect = config.options?.data?.folder?.aspect ?? 'squash';
  const folds = [];
  for (const row of cv.rows) {
    const dir = path.join(o.cv, `fold-${row.fold}`);
    const swapped = path.join(out, `fold-${row.fold}`);
    const rows = await readSplitCsv(path.join(dir, 'split.csv'));
    const images = await swapFold(o.data, rows, swapped, shape, aspect);
    const ev = await runCli(['evaluate', '--model', path.join(dir, 'model.safetensors'), '--data', swapped, '--split-csv', path.join(swapped, 'split.csv'), '--json']);
    const at = ev.atThreshold ?? ev;
    // At the stored threshold when the model has one (as evaluate decides), else at the default decision.
    const accuracy = row.accuracyAtThreshold ?? row.accuracy;
    folds.push({ fold: row.fold, images, accuracy, swappedAccuracy: at.accuracy, swappedAuc: ev.auc });
    if (!o.json) console.error(`fold ${row.fold}: ${images} test images, accuracy ${(100 * accuracy).toFixed(1)}% -> ${(100 * at.accuracy).toFixed(1)}% with the other class's stain`);
  }
  const mean = (k) => folds.reduce((a, f) => a + f[k], 0) / folds.length;
  const summary = { cv: o.cv, out, folds, accuracy: mean('accuracy'), swappedAccuracy: mean('swappedAccuracy'), swappedAuc: mean('swappedAuc') };
  if (o.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(`mean over ${folds.length} folds: accuracy ${(100 * summary.accuracy).toFixed(1)}% on the test patients, ${(100 * summary.swappedAccuracy).toFixed(1)}% with the other class's stain (AUC ${summary.swappedAuc.toFixed(3)}); recoloured images in ${out}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`stain-swap: ${err.message}`);
    process.exit(1);
  },
);
