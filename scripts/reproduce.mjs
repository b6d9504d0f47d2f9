#!/usr/bin/env node
// Reproduces the study's tables with the lite-cnn CLI and writes docs/results.md plus PNG plots.
//
//   npm run reproduce                      # build, then the full run (~3 min on 2 idle cores)
//   node scripts/reproduce.mjs --quick     # smoke mode: tiny --limit runs, 1 seed, no CV (~15 s);
//                                          # writes into the runs folder, not docs/
//
// Options: --quick, --data DIR (default ../shared/data/breakhis-200x-tiles), --runs DIR (run folders;
// default a fresh folder under the OS temp dir), --docs DIR (where results.md and the PNGs go;
// default docs/, or the runs folder with --quick), --resnet50 PATH --vgg16 PATH (ImageNet ONNX files for the
// "Baselines" section; without them it times randomly initialized networks), --baseline-limit N.
//
// Ctrl-C stops the running command and this script; the same command with the same --runs goes on: the
// "New patients" section reuses its finished cross-validations and resumes an interrupted one (`train --resume`).
//
// Every number comes from the CLI (`--json` on stdout, history.csv, cv.json, `evaluate --json`).
// The only arithmetic here: max over history.csv rows (best accuracy), means and sample standard
// deviations (n - 1) over seeds, unit conversions, and pixel coordinates of the MNIST plot.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finite, mean, one, pct, pm, std, table } from './reproduce/format.mjs';
import { newPatientsMarkdown, runNewPatients, spliceSection } from './reproduce/new-patients.mjs';
import { baselinesMarkdown, runBaselines } from './reproduce/baselines.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'ts/cli/dist/main.js');
const STAIN_SWAP = path.join(ROOT, 'scripts/stain-swap.mjs');

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const o = { quick: false, only: null, noTrain: false, seeds: null, data: path.resolve(ROOT, '../shared/data/breakhis-200x-tiles'), runs: null, docs: null, weights: {}, baselineLimit: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-train') o.noTrain = true;
    else if (a === '--data') o.data = path.resolve(value());
    else if (a === '--seeds') {
      o.seeds = value().split(',').map(Number);
      if (!o.seeds.every((s) => Number.isInteger(s) && s >= 0)) usage('--seeds takes a comma-separated list of seeds, e.g. 0,1,2');
    } else if (a === '--only') {
      o.only = value();
      if (o.only !== 'new-patients' && o.only !== 'baselines') usage(`--only takes 'new-patients' or 'baselines', got '${o.only}'`);
    } else if (a === '--resnet50' || a === '--vgg16') {
      o.weights[a.slice(2)] = path.resolve(value());
    } else if (a === '--baseline-limit') {
      o.baselineLimit = Number(value());
      if (!Number.isInteger(o.baselineLimit) || o.baselineLimit < 1) usage('--baseline-limit takes a positive integer (images per split)');
    }
    else if (a === '--runs') o.runs = path.resolve(value());
    else if (a === '--docs') o.docs = path.resolve(value());
    else if (a === '-h' || a === '--help') usage(null);
    else usage(`unknown option ${a}`);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  o.runs ??= path.join(os.tmpdir(), `lite-cnn-reproduce-${o.quick ? 'quick-' : ''}${stamp}`);
  o.docs ??= o.quick ? o.runs : path.join(ROOT, 'docs');
  return o;
}

function usage(error) {
  const text =
    'usage: node scripts/reproduce.mjs [--quick] [--only new-patients [--no-train]|baselines] [--seeds 0,1,2] [--data DIR] [--runs DIR] [--docs DIR]\n' +
    '                                  [--resnet50 resnet50.onnx --vgg16 vgg16.onnx] [--baseline-limit N]\n' +
    '  --only new-patients: only the "New patients" section (reusing finished CVs in --runs), spliced into DOCS/results.md\n' +
    '  --no-train: train nothing; the section from the CVs in --runs as they are (interrupted ones: their completed folds, named)\n' +
    '  --only baselines: only the "Baselines" section (ImageNet ResNet50/VGG16 fine-tuned; without --resnet50/--vgg16 the time side\n' +
    '                    on random weights), spliced into DOCS/results.md; --baseline-limit N cuts each split to N images\n';
  if (error) {
    process.stderr.write(`reproduce: ${error}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Running the CLI

const commands = []; // every CLI invocation, for the "exact commands" section
let logIndex = 0;

/** Runs `lite-cnn ...args`; returns its parsed JSON stdout. Progress (stderr) goes to a log file. */
async function cli(args, { record = true } = {}) {
  const shown = `lite-cnn ${args.map(quoteArg).join(' ')}`;
  if (record) commands.push(shown);
  return runJson(MAIN, args, shown, args[0]);
}

/** Runs scripts/stain-swap.mjs (the stain stress test, docs/histology.md) with `args`; returns its JSON summary. */
async function stainSwap(args) {
  const shown = `node scripts/stain-swap.mjs ${args.map(quoteArg).join(' ')}`;
  commands.push(shown);
  return runJson(STAIN_SWAP, args, shown, 'stain-swap');
}

// Ctrl-C reaches the whole process group: the running CLI stops after its step and keeps its files (a
// cross-validation its completed folds); this script waits for it instead of dying first, then says how to go on.
let interrupted = false;
process.on('SIGINT', () => (interrupted = true));

/** Runs the Node script `entry` with `args`, logging its stderr under `name`; returns its parsed JSON stdout. */
async function runJson(entry, args, shown, name) {
  const log = path.join(opts.runs, 'logs', `${String(++logIndex).padStart(3, '0')}-${name}.log`);
  const t0 = performance.now();
  process.stderr.write(`$ ${shown}\n`);
  const { code, stdout, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  await writeFile(log, `$ ${shown}\n\n${stderr}\n--- stdout ---\n${stdout}`);
  if (interrupted) {
    process.stderr.write(
      `reproduce: interrupted (log: ${log}). Run the same command with --runs ${opts.runs} to go on: the "New patients" ` +
        'section reuses its finished cross-validations there and resumes an interrupted one from its completed folds.\n',
    );
    process.exit(130);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) {
    process.stderr.write(stderr.split('\n').slice(-15).join('\n') + '\n');
    throw new Error(`'${shown}' exited with ${code} (log: ${log})`);
  }
  process.stderr.write(`  done in ${seconds.toFixed(1)} s\n`);
  return JSON.parse(stdout);
}

function quoteArg(a) {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Shows a path relative to the repository root when it is inside it or beside it. */
function rel(p) {
  const r = path.relative(ROOT, p);
  return r.startsWith('../../') || path.isAbsolute(r) ? p : r;
}

async function readCsv(file) {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  const header = lines[0].split(',');
  return lines.slice(1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] === undefined || cells[i] === '' ? null : Number(cells[i])]));
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting and the only statistics: mean and sample standard deviation over seeds

const int = (n) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// A small SVG line chart (for the MNIST Adam-vs-SGD plot), converted to PNG with sharp

const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function niceTicks(lo, hi, count = 5, integer = false) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

/** series: [{ name, points: [[x, y], ...], dashed? }] */
function lineChartSvg({ title, xLabel, yLabel, series, yMin, yMax, integerX = false, markers = false, width = 760, height = 430 }) {
  const m = { left: 70, right: 20, top: 56, bottom: 56 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(...xs);
  const y0 = yMin ?? Math.min(...ys);
  const y1 = yMax ?? Math.max(...ys);
  const W = width - m.left - m.right;
  const H = height - m.top - m.bottom;
  const X = (x) => m.left + ((x - x0) / (x1 - x0 || 1)) * W;
  const Y = (y) => m.top + H - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0 || 1)) * H;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`];
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + W}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${Y(t) + 4}" text-anchor="end">${esc(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 8, integerX)) {
    parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${m.top}" y2="${m.top + H}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${X(t)}" y="${m.top + H + 18}" text-anchor="middle">${esc(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${W}" height="${H}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + W / 2}" y="${height - 12}" text-anchor="middle" font-size="13">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${m.top + H / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const colour = s.colour ?? PALETTE[i % PALETTE.length];
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="${s.dashed ? 1.5 : 2}"${s.dashed ? ' stroke-dasharray="5 4"' : ''} opacity="0.9"/>`);
    if (markers) for (const [x, y] of s.points) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    const lx = m.left + 10 + i * 235;
    const ly = 40;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

async function svgToPng(svg, file) {
  const { default: sharp } = await import('sharp');
  await sharp(Buffer.from(svg), { density: 96 }).png({ compressionLevel: 9 }).toFile(file);
}

// ---------------------------------------------------------------------------------------------
// The runs

const QUICK = opts.quick;
const SEEDS = opts.seeds ?? (QUICK ? [0] : [0, 1, 2]);
const MNIST_LIMIT = QUICK ? ['--limit', '2000'] : [];
const BH_LIMIT = QUICK ? ['--limit', '96'] : [];
const EVAL_EVERY = QUICK ? '20' : '100';
const hasBreakhis = existsSync(path.join(opts.data, 'manifest.csv')) || existsSync(path.join(opts.data, 'malignant'));
const startedAt = new Date();
const loadBefore = os.loadavg();

await mkdir(path.join(opts.runs, 'logs'), { recursive: true });
await mkdir(opts.docs, { recursive: true });
process.stderr.write(`reproduce: ${QUICK ? 'QUICK smoke mode; ' : ''}run folders in ${opts.runs}, results in ${opts.docs}\n`);

/** The "New patients" section: its runs, and its markdown with its own commands. */
async function newPatientsSection() {
  const own = [];
  const show = (args, program = 'lite-cnn') => `${program} ${args.map(quoteArg).join(' ')}`.replaceAll(opts.runs, '$RUNS').replaceAll(opts.data, rel(opts.data));
  const results = await runNewPatients({
    cli: (args) => (own.push(show(args)), cli(args)),
    stainSwap: (args) => (own.push(show(args, 'node scripts/stain-swap.mjs')), stainSwap(args)),
    note: (args, partial) => own.push(`${show(args)}   # ${partial ? `${partial} (deadline)` : 'finished earlier in $RUNS'}: reused`),
    resumed: (args) => own.push(`${show(args)}   # interrupted earlier in $RUNS: continued by the next command`),
    runs: opts.runs,
    data: opts.data,
    seeds: SEEDS,
    noTrain: opts.noTrain,
  });
  return [...newPatientsMarkdown(results, { seeds: SEEDS }), 'Commands of this section (`$RUNS`: the run folder):', '', '```sh', ...own, '```', ''];
}

if (opts.noTrain && opts.only !== 'new-patients') usage('--no-train applies to --only new-patients');

/** The "Baselines" section: fine-tuning (with ImageNet ONNX files) or timing (random weights) ResNet50 and VGG16. */
async function baselinesSection() {
  const load = os.loadavg();
  const random = !opts.weights.resnet50 || !opts.weights.vgg16;
  // Random weights are for timing only: a cut of each split is enough, scaled to the full epoch.
  const limit = opts.baselineLimit ?? (QUICK ? 8 : random ? 64 : null);
  const results = await runBaselines({ cli, runs: opts.runs, data: opts.data, weights: opts.weights, limit, batchSize: QUICK ? 4 : 16 });
  return baselinesMarkdown(results, { load });
}

if (opts.only === 'baselines') {
  if (!hasBreakhis) usage(`--only baselines needs the BreakHis tiles (--data), not found at ${opts.data}`);
  const file = path.join(opts.docs, 'results.md');
  const lines = await baselinesSection();
  await writeFile(file, spliceSection(existsSync(file) ? await readFile(file, 'utf8') : '', lines, 'baselines'));
  process.stderr.write(`reproduce: wrote the "Baselines" section of ${file}\n`);
  process.exit(0);
}

if (opts.only === 'new-patients') {
  if (!hasBreakhis) usage(`--only new-patients needs the BreakHis tiles (--data), not found at ${opts.data}`);
  const file = path.join(opts.docs, 'results.md');
  const lines = await newPatientsSection();
  await writeFile(file, spliceSection(existsSync(file) ? await readFile(file, 'utf8') : '', lines));
  process.stderr.write(`reproduce: wrote the "New patients" section of ${file}\n`);
  process.exit(0);
}

const info = await cli(['info', '--json']);

// --- MNIST -------------------------------------------------------------------------------------
// Two runs per configuration and seed: one plain (its time is the time per epoch) and one with
// --eval-every (the learning curve; best train/validation accuracy over its evaluation points).
// The seed does not change MNIST's split; both runs of a seed train identically.
const MNIST_CONFIGS = [
  { key: 'adam', label: 'Adam, lr 0.01, [0,1] pixels', args: ['--optimizer', 'adam'] },
  { key: 'sgd', label: 'SGD, lr 0.01, [0,1] pixels', args: ['--optimizer', 'sgd'] },
  { key: 'adam-raw', label: 'Adam, lr 0.01, raw 0-255 pixels (`--preprocess none`)', args: ['--optimizer', 'adam', '--preprocess', 'none'] },
];
const mnist = {};
for (const c of MNIST_CONFIGS) {
  mnist[c.key] = [];
  for (const seed of SEEDS) {
    const base = ['train', '--preset', 'mnist', ...c.args, '--lr', '0.01', '--batch-size', '32', '--epochs', '1', '--seed', String(seed), ...MNIST_LIMIT];
    const dirPlain = path.join(opts.runs, `mnist-${c.key}-s${seed}`);
    const dirCurve = path.join(opts.runs, `mnist-${c.key}-s${seed}-curve`);
    const plain = await cli([...base, '--out', dirPlain, '--json']);
    const curve = await cli([...base, '--eval-every', EVAL_EVERY, '--out', dirCurve, '--json']);
    const history = await readCsv(path.join(dirCurve, 'history.csv'));
    mnist[c.key].push({
      seed,
      bestTrain: Math.max(...finite(history.map((r) => r.accuracy))),
      bestVal: Math.max(...finite(history.map((r) => r.val_accuracy))),
      finalVal: curve.validation?.accuracy ?? null,
      test: plain.test?.accuracy ?? null,
      testCurve: curve.test?.accuracy ?? null,
      secondsPerEpoch: plain.seconds.perEpoch[0],
      secondsPerEpochWithEval: curve.seconds.perEpoch[0],
      points: history.length,
      history,
    });
  }
}

// MNIST plot: validation accuracy over steps, Adam vs SGD (and raw pixels), first seed.
const mnistPlot = path.join(opts.docs, 'mnist-validation-accuracy.png');
{
  const series = MNIST_CONFIGS.map((c, i) => ({
    name: { adam: 'Adam, [0,1] pixels', sgd: 'SGD, [0,1] pixels', 'adam-raw': 'Adam, raw 0-255 pixels' }[c.key],
    dashed: c.key === 'adam-raw',
    colour: PALETTE[i],
    points: mnist[c.key][0].history.filter((r) => r.val_accuracy !== null).map((r) => [r.step, r.val_accuracy * 100]),
  }));
  const lo = Math.min(...series.flatMap((s) => s.points.map((p) => p[1])));
  await svgToPng(
    lineChartSvg({
      title: `MNIST: validation accuracy during 1 epoch (seed ${SEEDS[0]}, every ${EVAL_EVERY} steps)`,
      xLabel: 'training step (batch 32)',
      yLabel: 'validation accuracy (%)',
      series,
      yMin: Math.max(0, Math.floor(lo / 10) * 10),
      yMax: 100,
      markers: true,
    }),
    mnistPlot,
  );
}

// --- BreakHis ----------------------------------------------------------------------------------
let bh = null;
if (hasBreakhis) {
  const data = opts.data;
  const preset = ['train', '--preset', 'breakhis', '--data', data, '--positive', 'malignant'];
  const params = (await cli(['summary', '--preset', 'breakhis', '--json'])).params;

  /** One training run plus `evaluate --batch-size 1` on its test split (latency per image, file size, per-class metrics). */
  async function breakhisRun(name, extra, seed) {
    const dir = path.join(opts.runs, `${name}-s${seed}`);
    const summary = await cli([...preset, ...extra, '--seed', String(seed), ...BH_LIMIT, '--out', dir, '--json']);
    const model = path.join(dir, 'model.safetensors');
    const ev = await cli(['evaluate', '--model', model, '--data', data, '--batch-size', '1', ...BH_LIMIT, '--json']);
    const per = Object.fromEntries(ev.perClass.map((c) => [c.name, c]));
    return { seed, dir, summary, ev, per, bytes: (await stat(model)).size, patients: await splitPatients(path.join(dir, 'split.csv')) };
  }

  /** Patients (the split's `group` column) and images per split and class, counted from the run's split.csv. */
  async function splitPatients(file) {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
    const h = lines[0].split(',');
    const [iClass, iGroup, iSplit] = ['class', 'group', 'split'].map((c) => h.indexOf(c));
    const out = {};
    for (const l of lines.slice(1)) {
      const c = l.split(',');
      const key = `${c[iSplit]}/${c[iClass]}`;
      out[key] ??= { patients: new Set(), images: 0 };
      out[key].patients.add(c[iGroup]);
      out[key].images++;
    }
    return out;
  }
  const describeSplit = (p, split) =>
    ['benign', 'malignant'].map((c) => p[`${split}/${c}`]).every(Boolean)
      ? ['benign', 'malignant'].map((c) => `${p[`${split}/${c}`].patients.size} ${c} patient${p[`${split}/${c}`].patients.size === 1 ? '' : 's'} (${p[`${split}/${c}`].images} images)`).join(' + ')
      : 'n/a';

  const recipes = [
    { key: 'plain', title: "(a) The study's recipe: `--preset breakhis` (2 epochs)", extra: [] },
    { key: 'long', title: '(b) The same preset, 20 epochs, best epoch chosen from epoch 8 on: `--epochs 20 --min-epochs 8`', extra: QUICK ? ['--epochs', '4', '--min-epochs', '2'] : ['--epochs', '20', '--min-epochs', '8'] },
  ];
  const runs = {};
  for (const r of recipes) {
    runs[r.key] = [];
    for (const seed of SEEDS) runs[r.key].push(await breakhisRun(`breakhis-${r.key}`, r.extra, seed));
  }

  // Learning curves of the first 20-epoch run: loss and val_loss per epoch (train loss includes the L2 term).
  const curveRun = runs.long[0];
  const lossPlot = path.join(opts.docs, 'breakhis-loss.png');
  const accPlot = path.join(opts.docs, 'breakhis-accuracy.png');
  await copyFile(path.join(curveRun.dir, 'loss.png'), lossPlot);
  await copyFile(path.join(curveRun.dir, 'accuracy.png'), accPlot);
  const curveHistory = await readCsv(path.join(curveRun.dir, 'history.csv'));
  // The validation loss alone (the train loss carries the L2 penalty and dwarfs it in loss.png).
  const valLossPlot = path.join(opts.docs, 'breakhis-val-loss.png');
  await svgToPng(
    lineChartSvg({
      title: `BreakHis (b), seed ${curveRun.seed}: validation loss and accuracy per epoch`,
      xLabel: 'epoch',
      yLabel: 'val_loss  /  val_accuracy',
      series: [
        { name: 'val_loss', points: curveHistory.filter((r) => r.val_loss !== null).map((r) => [r.epoch, r.val_loss]) },
        { name: 'val_accuracy', points: curveHistory.filter((r) => r.val_accuracy !== null).map((r) => [r.epoch, r.val_accuracy]), dashed: true },
      ],
      yMin: 0,
      integerX: true,
      markers: true,
    }),
    valLossPlot,
  );

  // (c) Patient-level 5-fold cross-validation.
  let cv = null;
  if (!QUICK) {
    const dir = path.join(opts.runs, 'breakhis-cv5');
    const summary = await cli([...preset, '--cv', '5', '--epochs', '30', '--min-epochs', '10', '--target-recall', '0.9', '--seed', '0', '--out', dir, '--json']);
    const cvJson = JSON.parse(await readFile(path.join(dir, 'cv.json'), 'utf8'));
    // The pooled (out-of-fold) AUC is only in report.html (not in cv.json): read it from there.
    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    const m = html.replace(/<[^>]*>/g, '\n').match(/ROC AUC\s*\n\s*([0-9.]+)/);
    const rocPlot = path.join(opts.docs, 'breakhis-cv-roc.png');
    await copyFile(path.join(dir, 'roc.png'), rocPlot);
    cv = { dir, summary, cvJson, pooledAuc: m ? Number(m[1]) : null, rocPlot };
  }
  bh = { params, runs, recipes, lossPlot, accPlot, valLossPlot, cv, describeSplit };
}

// ---------------------------------------------------------------------------------------------
// results.md

const finishedAt = new Date();
const loadAfter = os.loadavg();
const md = [];
const docsRel = (p) => path.relative(opts.docs, p);

md.push('# lite-cnn: the study reproduced');
md.push('');
md.push(
  `Generated by \`${QUICK ? 'node scripts/reproduce.mjs --quick' : 'npm run reproduce'}\` (\`scripts/reproduce.mjs\`) — do not edit by hand; rerun it.` +
    (QUICK ? ' **QUICK smoke mode: tiny `--limit` runs, 1 seed, no cross-validation — the numbers below mean nothing.**' : ''),
);
md.push(
  '`node scripts/reproduce.mjs --quick` is a smoke mode (tiny `--limit` runs, 1 seed, no CV, under a minute) that writes its own results.md into the runs folder, not here.',
);
md.push('');
md.push('## Machine');
md.push('');
md.push(`- date: ${startedAt.toISOString()} (run took ${((finishedAt - startedAt) / 60000).toFixed(1)} min)`);
md.push(`- Node ${process.version} on ${os.platform()} ${os.arch()}`);
md.push(`- CPU: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} logical cores`);
md.push(`- lite-cnn engine: ${info.artifact} artifact, ${info.threads} threads, SIMD128 ${info.simd128 ? 'on' : 'off'}`);
md.push(
  `- load average (1 min) at start ${loadBefore[0].toFixed(2)}, at end ${loadAfter[0].toFixed(2)}: the machine is shared, ` +
    'so times include whatever else was running (accuracies do not depend on it: a seed reproduces a run bit for bit).',
);
md.push('- means ± sample standard deviations (n − 1) over seeds are computed by the script from the CLI\'s per-run numbers; everything else is printed by the CLI.');
md.push('');

// MNIST
md.push('## MNIST: Adam vs SGD (the study\'s setup)');
md.push('');
md.push(
  `The study's net (\`--preset mnist\`), batch 32, lr 0.01, 1 epoch, ${QUICK ? 'first 2,000' : '55,000'} training / ${QUICK ? '2,000' : '5,000'} validation images, ` +
    `[0,1] pixel scaling unless noted; seeds ${SEEDS.join(', ')} (mean ± std). Test accuracy is on the 10,000 MNIST test images${QUICK ? ' (limited)' : ''}.`,
);
md.push('');
const mrow = (label, rs) => [
  label,
  pct(rs.map((r) => r.bestTrain)),
  pct(rs.map((r) => r.bestVal)),
  pct(rs.map((r) => r.test)),
  pm(rs.map((r) => r.secondsPerEpoch), { digits: 2 }),
  pm(rs.map((r) => r.secondsPerEpochWithEval), { digits: 2 }),
];
md.push(
  table(
    ['run', 'best train accuracy', 'best validation accuracy', 'test accuracy', 's / epoch', `s / epoch with ${mnist.adam[0].points} evaluation points`],
    [
      ...MNIST_CONFIGS.map((c) => mrow(`lite-cnn: ${c.label}`, mnist[c.key])),
      ['study: SGD (NumPy)', '96.6%', '78.3%', '—', '—', '786 (13.1 min)'],
      ['study: Adam (NumPy)', '90%', '91.5%', '—', '—', '786 (13.1 min)'],
    ],
  ),
);
md.push('');
md.push(
  `- *best train / validation accuracy*: the highest value over the evaluation points of an \`--eval-every ${EVAL_EVERY}\` run ` +
    `(${mnist.adam[0].points} points; the study logged 20 per epoch). Train accuracy there is the CLI's running mean over the epoch's batches so far, ` +
    'so it lags the validation accuracy; the study\'s definition of "train accuracy" is not known exactly.',
);
md.push(
  '- *s / epoch*: the CLI\'s training time of a run without `--eval-every` (the same training: test accuracies of both runs of a seed agree' +
    `${MNIST_CONFIGS.every((c) => mnist[c.key].every((r) => r.test === r.testCurve)) ? ', checked' : ' — NOT checked equal in this run'}); ` +
    'the last column is the run with the evaluations. The study\'s 13.1 min is for its NumPy code on its machine.',
);
md.push(
  `- Pixel scaling ([architecture.md §7](architecture.md#7-numerics-notes-measured-with-pytorch-on-the-same-nets-and-data)): with raw 0-255 pixels the same net and recipe reach ${pct(mnist['adam-raw'].map((r) => r.bestVal))} best validation accuracy ` +
    `(the study's Adam: 91.5%); with [0,1] scaling, ${pct(mnist.adam.map((r) => r.bestVal))}. Model files store their preprocessing, so \`predict\` applies the right one.`,
);
md.push('');
md.push(`![MNIST validation accuracy, Adam vs SGD](${docsRel(mnistPlot)})`);
md.push('');

// BreakHis
md.push('## BreakHis (200x tiles): the study\'s net and recipe');
md.push('');
if (!bh) {
  md.push(`*Skipped: the data folder \`${rel(opts.data)}\` was not found on this machine.* Point \`--data\` at a BreakHis tile folder (\`<dir>/<class>/*.jpg\` with a \`manifest.csv\` holding a \`patient\` column) to fill this section.`);
  md.push('');
} else {
  const { params, runs, recipes, cv, describeSplit } = bh;
  md.push(
    `Data: \`${rel(opts.data)}\`${QUICK ? ' (limited to 96 training images)' : ''}. Net: \`--preset breakhis\`, ${int(params.trainable)} trainable parameters ` +
      `(+ ${int(params.nonTrainable)} batch-norm statistics), Adam lr 0.001, Keras L2 0.1, balanced class weights, the study's augmentation, [0,1] pixels.`,
  );
  md.push('');
  md.push(
    '**Why a patient-level split.** BreakHis has many tiles per patient, and tiles of one patient look alike. An image-level split puts tiles of the same ' +
      'patient in training and test, so the test measures recognising patients already seen, not diagnosing new ones; every split below keeps each patient ' +
      'in exactly one of train / validation / test (80/10/10 of the patients\' images; the seed also changes which patients land where, so the spread over seeds ' +
      'includes the split). With only a handful of test patients per split, single-split numbers are noisy — the cross-validation (c) is the one to quote.',
  );
  md.push('');
  const bhRow = (label, rs) => {
    const s = rs.map((r) => r.summary);
    return [
      label,
      pct(rs.map((r) => r.ev.atDefault.accuracy)),
      pct(rs.map((r) => r.per.malignant?.recall)),
      pct(rs.map((r) => r.per.malignant?.precision)),
      pct(rs.map((r) => r.per.malignant?.f1)),
      pct(rs.map((r) => r.per.benign?.recall)),
      pct(rs.map((r) => r.per.benign?.precision)),
      pm(rs.map((r) => r.ev.auc), { digits: 3 }),
      `${pm(s.map((x) => x.epochs.completed), { digits: 0 })} (best ${s.map((x) => x.bestEpoch).join(', ')})`,
      pm(s.map((x) => mean(x.seconds.perEpoch)), { digits: 2 }),
      pm(s.map((x) => x.seconds.training), { digits: 1 }),
      pm(rs.map((r) => r.bytes / 1024), { digits: 0 }),
      pm(rs.map((r) => r.ev.msPerImage), { digits: 2 }),
    ];
  };
  const header = [
    'run', 'accuracy', 'malignant recall', 'malignant precision', 'malignant F1', 'benign recall', 'benign precision', 'AUC',
    'epochs (best epoch per seed)', 's / epoch', 'training s', 'model file KiB', 'inference ms / image',
  ];
  const study = ['study (NumPy, image-level split)', '84.16%', '90.65%', '—', '88.73%', '—', '—', '0.85', '2', '1,470', '2,940 (49 min)', '2,475 KB (pickle)', '310'];
  for (const r of recipes) {
    md.push(`### ${r.title}`);
    md.push('');
    md.push(table(header, [bhRow(`lite-cnn, seeds ${SEEDS.join(', ')}`, runs[r.key]), ...(r.key === 'plain' ? [study] : [])]));
    md.push('');
    md.push(
      `Per seed: ` +
        runs[r.key]
          .map((x) => {
            const cm = x.ev.atDefault.confusionMatrix; // rows: true class, columns: predicted (CLI's class order)
            const names = x.ev.atDefault.perClass.map((c) => c.name);
            const right = names.map((n, i) => `${n} ${cm[i][i]}/${cm[i].reduce((a, b) => a + b, 0)}`).join(', ');
            return `seed ${x.seed}: test ${describeSplit(x.patients, 'test')}, validation ${describeSplit(x.patients, 'val')}; correct on test: ${right}; AUC ${one(x.ev.auc, 3)}`;
          })
          .join('; ') +
        '.',
    );
    md.push('');
  }
  md.push(
    '- Metrics at the 0.5 threshold on each run\'s patient-level test split, from `lite-cnn evaluate --json` on the saved `model.safetensors` (the best epoch by ' +
      'validation loss). *s / epoch*: mean of the CLI\'s per-epoch training times (decoding the images once is not included); *training s*: all epochs. ' +
      `*Inference ms / image*: \`evaluate --batch-size 1\` (one already decoded image at a time: preprocessing, input check and forward pass, ${info.threads} threads, timed after the loss pass so one-time allocation is not included). ` +
      '*Model file*: `model.safetensors` (float32 weights + topology, preprocessing, class names; nothing executable), KiB = 1024 bytes.',
  );
  md.push(
    '- A class the model never predicts gets precision 0 in the CLI\'s report (0/0). With 10% of the patients per split, the test (and validation) split of this data holds ' +
      'about four patients (see the per-seed lines): benign recall is then the verdict on a single benign patient, hence the large spreads. A run whose ranking is fine (high AUC) can still put every ' +
      'image on one side of 0.5 ([architecture.md §7](architecture.md#7-numerics-notes-measured-with-pytorch-on-the-same-nets-and-data)); the cross-validation below also reports a validation-chosen threshold.',
  );
  md.push(
    '- The study\'s split was by image (see above), so its figures are not comparable one to one; its time per epoch is derived from its 49 minutes for 2 epochs.',
  );
  md.push('');
  md.push(`Learning curves of the seed-${runs.long[0].seed} run of (b), as the CLI renders them (the training loss includes the Keras L2 penalty, \`0.1·ΣW²\`, which dominates early; the validation loss does not):`);
  md.push('');
  md.push(`![BreakHis loss per epoch](${docsRel(bh.lossPlot)}) ![BreakHis accuracy per epoch](${docsRel(bh.accPlot)})`);
  md.push('');
  md.push(`![BreakHis validation loss and accuracy per epoch](${docsRel(bh.valLossPlot)})`);
  md.push('');

  md.push('### (c) Patient-level 5-fold cross-validation');
  md.push('');
  if (!cv) {
    md.push('*Not run in quick mode.*');
    md.push('');
  } else {
    const { rows, summary: s } = cv.cvJson;
    md.push(
      '`--cv 5 --epochs 30 --min-epochs 10 --target-recall 0.9 --positive malignant`, seed 0: each fold\'s patients are the test set once; the other folds are ' +
        'split again by patient into training and validation (20%), which picks the best epoch (lowest validation loss from epoch 10 on) and the decision ' +
        'threshold that gives 90% malignant recall on validation. Mean ± sample std over folds as the CLI reports them (`cv.json`).',
    );
    md.push('');
    const f = (x, d = 1) => one(x, d, 100) + '%';
    md.push(
      table(
        ['fold', 'test images', 'accuracy', 'malignant recall', 'malignant precision', 'malignant F1', 'AUC', 'threshold', 'accuracy @t', 'malignant recall @t', 'epochs (best)', 's / epoch'],
        [
          ...rows.map((r) => [
            String(r.fold), `${r.testImages}${r.testPatients != null ? ` (${r.testPatients} pat.)` : ''}`, f(r.accuracy), f(r.recall), f(r.precision), f(r.f1), one(r.auc, 3),
            one(r.threshold, 3), f(r.accuracyAtThreshold), f(r.recallAtThreshold), `${r.epochs} (${r.bestEpoch})`, one(r.secondsPerEpoch, 2),
          ]),
          [
            '**mean ± std**', String(rows.reduce((a, r) => a + r.testImages, 0)),
            ...['accuracy', 'recall', 'precision', 'f1'].map((k) => `${one(s[k].mean, 1, 100)}% ± ${one(s[k].std, 1, 100)}`),
            `${one(s.auc.mean, 3)} ± ${one(s.auc.std, 3)}`, `${one(s.threshold.mean, 3)} ± ${one(s.threshold.std, 3)}`,
            `${one(s.accuracyAtThreshold.mean, 1, 100)}% ± ${one(s.accuracyAtThreshold.std, 1, 100)}`, `${one(s.recallAtThreshold.mean, 1, 100)}% ± ${one(s.recallAtThreshold.std, 1, 100)}`,
            `${one(s.epochs.mean, 0)} (${one(s.bestEpoch.mean, 1)})`, one(s.secondsPerEpoch.mean, 2),
          ],
        ],
      ),
    );
    md.push('');
    md.push(
      table(
        ['reference', 'accuracy', 'malignant recall', 'malignant F1', 'AUC', 'time'],
        [
          [
            'lite-cnn, 5-fold CV by patient (threshold 0.5)', `${one(s.accuracy.mean, 1, 100)}% ± ${one(s.accuracy.std, 1, 100)}`, `${one(s.recall.mean, 1, 100)}%`,
            `${one(s.f1.mean, 1, 100)}%`, `${one(s.auc.mean, 3)} (pooled out-of-fold: ${one(cv.pooledAuc, 3)})`,
            `${one(cv.summary.seconds.training, 0)} s for ${cv.summary.epochs.completed} epochs (+ ${one(cv.summary.seconds.decoding, 1)} s decoding)`,
          ],
          [
            'lite-cnn, same, at the validation-chosen threshold', `${one(s.accuracyAtThreshold.mean, 1, 100)}% ± ${one(s.accuracyAtThreshold.std, 1, 100)}`,
            `${one(s.recallAtThreshold.mean, 1, 100)}%`, `${one(s.f1AtThreshold.mean, 1, 100)}%`, '—', '—',
          ],
          ['PyTorch, same net, recipe and folds (issue 5, item 15)', '90.3% ± 6.4', '92.0%', '—', '0.965', '—'],
          ['study (NumPy, image-level split)', '84.16%', '90.65%', '88.73%', '0.85', '49 min for 2 epochs'],
        ],
      ),
    );
    md.push('');
    md.push('Pooled ROC of the out-of-fold predictions (each image scored by the model that did not see its patient), as rendered by the CLI:');
    md.push('');
    md.push(`![BreakHis 5-fold CV ROC](${docsRel(cv.rocPlot)})`);
    md.push('');
  }
}

if (hasBreakhis && !QUICK) md.push(...spliceSection('', await newPatientsSection()).trim().split('\n'), '');
if (hasBreakhis) md.push(...spliceSection('', await baselinesSection(), 'baselines').trim().split('\n'), '');

md.push('## Commands');
md.push('');
md.push(`Run folders: \`${opts.runs}\` (not kept in the repository). \`lite-cnn\` is \`node ts/cli/dist/main.js\`; every command ran from the repository root, in this order:`);
md.push('');
md.push('```sh');
md.push(...commands.map((c) => c.replaceAll(opts.runs, '$RUNS').replaceAll(opts.data, rel(opts.data))));
md.push('```');
md.push('');

const resultsFile = path.join(opts.docs, 'results.md');
await writeFile(resultsFile, md.join('\n'));
process.stderr.write(`reproduce: wrote ${resultsFile} in ${((finishedAt - startedAt) / 60000).toFixed(1)} min\n`);
