// lite-cnn against its peers on the two reference nets, in one run:
// TensorFlow.js 4.x (cpu and wasm backends), onnxruntime-web (wasm EP) and,
// when Debian's python3-torch is importable, PyTorch (benches/torch_step.py).
// A benchmark, not a test: it asserts nothing, prints markdown and writes it
// into benches/README.md between <!-- peers:begin --> and <!-- peers:end -->.
//   npm run bench:peers                (builds first; >= 25 timed runs per value)
//   node benches/peers/run.mjs --quick (after npm run build: smoke test, 5 runs)
//   node benches/peers/run.mjs --no-write   (print only)
// Each library runs in its own child process (peer-*.mjs), one backend or
// thread count per process: lite-cnn turns V8's Liftoff off in its process,
// and the wasm runtimes size their thread pools once, so nothing leaks from
// one measurement into the next. Values are medians in ms; the ratio of a
// peer is peer / lite-cnn at the same thread count (> 1: lite-cnn is faster).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_MS, MIN_MS, MIN_TIMED, RUNS, WARMUP, quick } from './measure.mjs';
import { fmt, saveSection } from '../readme-section.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../torch_step.py', import.meta.url));
const EXPORT_SCRIPT = fileURLToPath(new URL('./export_onnx.py', import.meta.url));
const q = quick ? ['--quick'] : [];
const started = new Date();

/** Runs a child and returns its last stdout line as JSON, or { skipped } with the reason. */
function child(cmd, args, what) {
  console.error(`\n== ${what}`);
  const r = spawnSync(cmd, args, { cwd: HERE, encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !last?.startsWith('{')) return { skipped: `${what} failed (exit ${r.status ?? r.signal}): ${r.error?.message ?? last ?? ''}`.slice(0, 300) };
  return JSON.parse(last);
}

const torchAvailable = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const noTorch = `${PYTHON} cannot import torch (install Debian's python3-torch)`;

const runs = {};
runs.lite1 = child(process.execPath, ['peer-lite-cnn.mjs', '--threads', '1', ...q], 'lite-cnn, 1 thread');
runs.lite2 = child(process.execPath, ['peer-lite-cnn.mjs', '--threads', '2', ...q], 'lite-cnn, 2 threads');
runs.tfcpu = child(process.execPath, ['peer-tfjs.mjs', '--backend', 'cpu', ...q], 'TensorFlow.js, cpu backend');
runs.tfwasm = child(process.execPath, ['peer-tfjs.mjs', '--backend', 'wasm', ...q], 'TensorFlow.js, wasm backend');
let onnx = null;
if (torchAvailable) {
  const dir = mkdtempSync(join(os.tmpdir(), 'lite-cnn-onnx-'));
  onnx = child(PYTHON, [EXPORT_SCRIPT, dir], 'ONNX export (torch.onnx)');
  if (!onnx.skipped) {
    runs.ort1 = child(process.execPath, ['peer-ort.mjs', '--threads', '1', '--models', dir, ...q], 'onnxruntime-web, 1 thread');
    runs.ort2 = child(process.execPath, ['peer-ort.mjs', '--threads', '2', '--models', dir, ...q], 'onnxruntime-web, 2 threads');
  } else {
    runs.ort1 = runs.ort2 = { skipped: onnx.skipped };
  }
  rmSync(dir, { recursive: true, force: true });
} else {
  runs.ort1 = runs.ort2 = { skipped: `no ONNX models: they are exported with PyTorch and ${noTorch}` };
}
const torch = torchAvailable ? child(PYTHON, [TORCH_SCRIPT, ...q], 'PyTorch (benches/torch_step.py)') : { skipped: noTorch };

// ---------------------------------------------------------------------------
// One row per (net, library configuration); cells { ms, n, foreign } or { error }.

const NETS = [
  ['mnist', 'MNIST net (28x28x1, 3,554 params)'],
  ['breakhis', 'BreakHis net (224x224x3, 319,106 params)'],
];
const rowsOf = (run, label, threads, pick = (r) => [r.train, r.infer1, r.infer32]) => ({ run, label, threads, pick });
const CONFIGS = [
  rowsOf(runs.lite1, 'lite-cnn', 1),
  rowsOf(runs.lite1, 'lite-cnn `predict()`', 1, (r) => [undefined, r.predict1, r.predict32]),
  rowsOf(runs.tfcpu, 'TF.js cpu', 1),
  rowsOf(runs.tfwasm, 'TF.js wasm', 1),
  rowsOf(runs.ort1, 'onnxruntime-web wasm', 1),
  rowsOf(torch, 'PyTorch', 1),
  rowsOf(runs.lite2, 'lite-cnn', 2),
  rowsOf(runs.lite2, 'lite-cnn `predict()`', 2, (r) => [undefined, r.predict1, r.predict32]),
  rowsOf(runs.ort2, 'onnxruntime-web wasm', 2),
  rowsOf(torch, 'PyTorch', 2),
];
const ref = { 1: runs.lite1, 2: runs.lite2 };

function cellsFor(cfg, net) {
  if (cfg.run.skipped) return null;
  if (cfg.run === torch) {
    const t = torch.results.find((r) => r.net === net && r.threads === cfg.threads);
    if (!t) return null;
    return [0, 1, 2].map((i) => ({ ms: [t.train, t.infer1, t.infer32][i], n: torch.runs, foreign: t.foreign[i] }));
  }
  const r = cfg.run.results.find((x) => x.net === net);
  return r ? cfg.pick(r) : null;
}

const load = (c) => (c?.error || !c ? '—' : c.foreign === null || c.foreign === undefined ? 'n/a' : c.foreign.toFixed(2));
const cellMs = (c) => (c === undefined ? '—' : c.error ? 'fails (see notes)' : fmt(c.ms));
const ratio = (c, base) => (!c || c.error || !base || base.error ? '—' : `${(c.ms / base.ms).toFixed(2)}x`);
const footnotes = new Map();

function table() {
  const lines = [
    '| net | library | threads | train b32 ms | infer b1 ms | infer b32 ms | train ratio | infer b1 ratio | infer b32 ratio | other load, cores (train, b1, b32) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const [net] of NETS) {
    for (const cfg of CONFIGS) {
      const cells = cellsFor(cfg, net);
      if (!cells) continue;
      const base = cellsFor({ ...CONFIGS[0], run: ref[cfg.threads] }, net);
      for (const c of cells) if (c?.error) footnotes.set(`${cfg.label}: ${c.error}`, true);
      const lite = cfg.label === 'lite-cnn';
      const trainCell = cells[0] === undefined ? '—' : cells[0].error ? (cfg.run === runs.tfwasm ? 'cannot train²' : cfg.run.library === 'onnxruntime-web' ? 'n/a (inference only)' : 'fails') : fmt(cells[0].ms);
      lines.push(
        `| ${net} | ${cfg.label} | ${cfg.threads} | ${trainCell}${cells[0] && !cells[0].error && cells[0].n < RUNS ? ` (n=${cells[0].n})` : ''} | ${cellMs(cells[1])} | ${cellMs(cells[2])} | ${lite ? '1.00x' : ratio(cells[0], base?.[0])} | ${lite ? '1.00x' : ratio(cells[1], base?.[1])} | ${lite ? '1.00x' : ratio(cells[2], base?.[2])} | ${cells.map(load).join(', ')} |`,
      );
    }
  }
  return lines.join('\n');
}

const versionOf = (run) => (run.skipped ? `not run: ${run.skipped}` : Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(', '));
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
let commit = '';
try {
  commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).stdout.trim();
} catch {}

const out = [];
out.push(`### Recorded run (\`npm run bench:peers\`${quick ? ' --quick' : ''}, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)`);
out.push('');
out.push(`Machine: ${cpu}, ${os.availableParallelism()} logical CPUs, ${os.platform()} ${os.release()}. Node ${process.version}.${commit ? ` lite-cnn at commit ${commit} (+ working tree).` : ''}`);
out.push(`Median of >= ${RUNS} timed runs after ${WARMUP} warm-up runs (short ones continue until ${MIN_MS} ms have passed; slow ones stop after ${MAX_MS / 1000} s with >= ${MIN_TIMED} runs, count shown as n=).`);
out.push('');
out.push('Versions and threads:');
out.push(`- lite-cnn: ${versionOf(runs.lite1)}; artifact \`${runs.lite1.backend ?? '?'}\` (SIMD ${runs.lite1.simd ?? '?'}), pool of 1 and 2 threads (separate processes).`);
out.push(`- TensorFlow.js cpu: ${versionOf(runs.tfcpu)}; single-threaded JS kernels.`);
out.push(`- TensorFlow.js wasm: ${versionOf(runs.tfwasm)}; SIMD ${runs.tfwasm.simd ?? '?'}, threads ${runs.tfwasm.threads ?? '?'} (tfjs-backend-wasm never uses threads in Node: its multithread check returns false when IS_NODE).`);
out.push(`- onnxruntime-web: ${versionOf(runs.ort1)}; wasm execution provider, \`env.wasm.numThreads\` 1 and 2 (separate processes; OS threads seen: ${runs.ort1.osThreads ?? '?'} and ${runs.ort2.osThreads ?? '?'}); models exported by \`export_onnx.py\`${onnx && !onnx.skipped ? ` with torch ${onnx.torch} (opset ${onnx.opset}, NCHW)` : ''}.`);
out.push(`- PyTorch: ${torch.skipped ? `not run: ${torch.skipped}` : `${torch.torch} (Python ${torch.python}, ${PYTHON}), \`torch.set_num_threads(1|2)\``}.`);
out.push('');
out.push('Ratios are **peer / lite-cnn at the same thread count** (> 1: lite-cnn is faster). "other load" is the CPU used by other processes during each measurement, in cores of 2 (re-measured up to 3 times above 0.25; n/a: too short to tell).');
out.push('');
out.push(table());
out.push('');
out.push('² TF.js wasm backend: `trainOnBatch` throws — the backend has no gradient kernels for convolutions (message below). `lite-cnn predict()` is the public `Sequential.predict` (copies the input in and the output out on every call; its ratio is to lite-cnn\'s executor `forward` above it); the other lite-cnn rows time the executor like `benches/step.mjs` (inputs already in wasm memory).');
out.push('');
out.push('Notes:');
for (const key of footnotes.keys()) out.push(`- ${key}`);
for (const [k, v] of Object.entries(runs)) if (v.skipped) out.push(`- ${k}: not run — ${v.skipped}`);
if (torch.skipped) out.push(`- PyTorch: not run — ${torch.skipped}`);
const text = out.join('\n');

console.log('');
console.log(text);
saveSection('peers', text);
