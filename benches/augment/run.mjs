// Training augmentation throughput: lite-cnn's wasm kernel (lc_image_transform
// through WasmImageTransformer, as training fills a batch) against
// torchvision transforms in PyTorch, 1 and 2 threads, in one run. A
// benchmark, not a test: it prints markdown and writes it into
// benches/README.md between <!-- augment:begin --> and <!-- augment:end -->.
//   npm run bench:augment                 (builds first)
//   node benches/augment/run.mjs --quick | --no-write | --rounds N
// Configurations (configs.mjs): the study's affine augmentation, and it plus
// HED jitter, colour jitter or stain randomization (RandStainNA), on 64
// synthetic H&E tiles (tiles.mjs) that both sides read from one file.
// Times are ms per 224x224 image (a batch of 32's median / 32); ratios are
// PyTorch time / lite-cnn time (> 1: lite-cnn is faster).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, fitStainDistribution } from '@lite-cnn/sdk';
import { fmt, saveSection } from '../readme-section.mjs';
import { quick, S } from '../peers/measure.mjs';
import { median } from '../peers/timing.mjs';
import { BATCH, CONFIGS, makeSpec } from './configs.mjs';
import { COUNT, heTiles, SHAPE, writeNpyU8 } from './tiles.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's: the pyenv python3 cannot see python3-torch
const THREADS = [1, 2];
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : quick ? 1 : 3;
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a positive integer, got ${process.argv[roundsAt + 1]}`);

// PyTorch's OpenMP threads wait passively unless the caller chose otherwise:
// with GNU OpenMP's default spinning, 2 threads on this shared 2-core host
// (another process busy on one core) took 30-110 ms per image instead of ~2,
// every small parallel region of an image waiting for a descheduled thread
// (one 224x224 multiply: 0.75 ms instead of 0.02). That measures the host's
// load, not the augmentation. OMP_WAIT_POLICY=ACTIVE measures the default.
const OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY ?? 'PASSIVE';

/** Runs a child that prints one JSON line last on stdout; its stderr (progress) passes through. */
function child(cmd, args, what, env = process.env) {
  console.error(`\n== ${what}`);
  const r = spawnSync(cmd, args, { cwd: HERE, env, encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) return { skipped: `${what} failed (exit ${r.status ?? r.signal})` };
  return JSON.parse(last);
}

// The tiles and the stain distribution fitted on them (RandStainNA's input),
// written once: both sides read the same pixels and parameters.
const dir = mkdtempSync(join(os.tmpdir(), 'lite-cnn-augment-'));
const tiles = heTiles();
writeNpyU8(join(dir, 'tiles.npy'), tiles, [COUNT, ...SHAPE]);
const fitter = await Engine.create({ threads: 1 });
const distribution = await fitStainDistribution(tiles, SHAPE, { engine: fitter });
await fitter.shutdown();
writeFileSync(join(dir, 'spec.json'), JSON.stringify(makeSpec(distribution, S)));

// Rounds: lite-cnn and PyTorch alternate, one thread count at a time, so the
// host's drift over minutes hits both sides of a ratio alike; a ratio is
// taken within each round and the median of the rounds' ratios reported.
const torchOk = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const common = ['--data', dir, ...(quick ? ['--quick'] : [])];
const rounds = []; // rounds[i][t] = { lite, torch }
try {
  for (let i = 0; i < ROUNDS; i++) {
    const round = {};
    for (const t of THREADS) {
      const lite = child(process.execPath, ['lite.mjs', '--threads', String(t), ...common], `round ${i + 1}: lite-cnn, ${t} thread(s)`);
      const torch = torchOk
        ? child(PYTHON, ['torch_augment.py', '--threads', String(t), ...common], `round ${i + 1}: PyTorch (torchvision), ${t} thread(s)`, { ...process.env, OMP_WAIT_POLICY })
        : { skipped: `${PYTHON} cannot import torch and torchvision (Debian's python3-torch, python3-torchvision)` };
      round[t] = { lite, torch };
    }
    rounds.push(round);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------

/** ms per image of configuration `name` in a child's result, or null. */
const perImage = (r, name) => {
  const x = r?.results?.find((e) => e.config === name);
  return typeof x?.ms === 'number' ? x.ms / BATCH : null;
};
const foreignOf = (r, name) => r?.results?.find((e) => e.config === name)?.foreign ?? null;
/** Median of the non-null values, or null. */
const mid = (xs) => {
  const v = xs.filter((x) => x !== null);
  return v.length ? median(v) : null;
};
const maxLoad = (xs) => (xs.every((x) => x === null) ? 'n/a' : Math.max(...xs.filter((x) => x !== null)).toFixed(2));
const x = (r) => (r === null ? '—' : `${r.toFixed(2)}x`);
const delta = (v) => (v === null ? '—' : `${v < 0 ? '-' : '+'}${fmt(Math.abs(v))}`);

const firstLite = rounds[0][THREADS[0]].lite;
const firstTorch = rounds.map((r) => r[THREADS[0]].torch).find((r) => !r.skipped) ?? rounds[0][THREADS[0]].torch;
const lines = [
  `Run ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick: a smoke test, not a measurement)' : ''}: Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} logical CPUs, ${os.platform()} ${os.release()}`,
  `lite-cnn: artifact ${firstLite.artifact ?? '?'}, WasmImageTransformer (preprocessing minmax) via ImageDataset batches, a separate Engine per thread count; ` +
    (firstTorch.skipped ? `PyTorch: skipped (${firstTorch.skipped})` : `PyTorch ${firstTorch.torch}, torchvision ${firstTorch.torchvision} (Python ${firstTorch.python}, ${PYTHON}), per-image transforms + torch.stack: in-process with torch.set_num_threads(1) at 1 thread, a DataLoader with 2 worker processes at 2, OMP_WAIT_POLICY=${OMP_WAIT_POLICY}`),
  `${COUNT} synthetic H&E tiles ${SHAPE.join('x')}, batches of ${BATCH}; each value: median of >= ${firstLite.runs ?? '?'} timed batches after ${firstLite.warmup ?? '?'} warm-up, / ${BATCH}. ${ROUNDS} round(s) of lite-cnn then PyTorch per thread count; ms: median over rounds; ratio: median of the rounds' PyTorch / lite-cnn.`,
  '',
  '| config | threads | lite-cnn ms/image | PyTorch ms/image | PyTorch / lite-cnn | ratio per round | added to study, ms/image (lite-cnn; PyTorch) | other load, cores (lite-cnn; PyTorch) |',
  '|---|---:|---:|---:|---:|---|---|---|',
];
for (const c of CONFIGS) {
  for (const t of THREADS) {
    const L = rounds.map((r) => perImage(r[t].lite, c.name));
    const P = rounds.map((r) => perImage(r[t].torch, c.name));
    const ratios = L.map((l, i) => (l !== null && P[i] !== null ? P[i] / l : null));
    // The configuration's own cost: its time minus the study's, within each round.
    const added = (side) =>
      mid(rounds.map((r) => {
        const [mine, study] = [c.name, CONFIGS[0].name].map((name) => perImage(r[t][side], name));
        return mine === null || study === null ? null : mine - study;
      }));
    const loads = (side) => maxLoad(rounds.map((r) => foreignOf(r[t][side], c.name)));
    lines.push(
      `| ${c.name} | ${t} | ${fmt(mid(L))} | ${fmt(mid(P))} | ${x(mid(ratios))} | ${ratios.map((r) => (r === null ? '—' : r.toFixed(2))).join(', ')} | ${c.name === CONFIGS[0].name ? '—' : `${delta(added('lite'))}; ${delta(added('torch'))}`} | ${loads('lite')}; ${loads('torch')} |`,
    );
  }
}
lines.push(
  '',
  '(ratio > 1: lite-cnn is faster. "other load": CPU used by other processes during the measurement, in cores, the largest over rounds; a measurement was repeated up to 3 times while it exceeded 0.25 and the least-disturbed attempt kept.)',
);
for (const r of rounds.flatMap((round) => THREADS.flatMap((t) => [round[t].lite, round[t].torch]))) {
  if (r.skipped && !lines.includes(`- ${r.skipped}`)) lines.push('', `- ${r.skipped}`);
  for (const e of r.results ?? []) if (e.error) lines.push('', `- ${r.library} ${r.threads}t ${e.config}: ${e.error}`);
}
const text = lines.join('\n');
console.log(text);
saveSection('augment', `### Recorded run (\`npm run bench:augment\`)\n\n${text}`);
