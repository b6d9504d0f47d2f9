// Training-step and inference time of the two reference nets, with 1 and 2
// pool threads, and — when Debian's python3-torch is installed — the same
// measurements in PyTorch (benches/torch_step.py) in the same run.
// A benchmark, not a test: it asserts nothing and prints markdown tables.
//   npm run bench:step             (>= 25 timed runs per value)
//   node benches/step.mjs --quick  (5 timed runs; smoke test only)
//   --artifact exact               (the exact artifacts; default 'auto': relaxed SIMD where supported)
//
// Rounds: lite-cnn and PyTorch are measured alternately, one thread count at a
// time (lite-cnn 1 thread, PyTorch 1 thread, lite-cnn 2 threads, PyTorch 2
// threads), ROUNDS times over (--rounds N; 3, or 1 with --quick). This shared
// host's speed drifts by tens of percent over minutes, so a ratio is taken
// within each round (the two measurements a minute apart at most) and the
// median of the rounds' ratios is reported, beside each round's ratio; times
// are the medians of the rounds' medians.
//
// What is timed (median of the timed runs after warm-up runs):
//   train    one CompiledModel.trainStep at batch 32: forward (BatchNorm batch
//            statistics), fused softmax cross-entropy, backward, Adam update —
//            one call into wasm. The inputs were written once into
//            model.inputView(32) before timing, so no input copy is timed;
//            32 labels and the step arguments are still staged per call.
//   infer1   forward(undefined, 1), inference mode (moving statistics),
//            including the copy of the output probabilities back to JS.
//   infer32  forward(undefined, 32), likewise.
// Rates: GFLOP/s of the convolutions and Dense layers (benches/step-flops.mjs)
// and their fraction of this CPU's exact and relaxed SIMD128 peaks
// (benches/peak.mjs, measured in this process).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { CompiledModel, Engine, StepKind } from '@lite-cnn/sdk';
import { printedSection } from './readme-section.mjs';
import { rateCell, simdPeak } from './peak.mjs';
import { layerFlops, layerMacs } from './step-flops.mjs';

const section = printedSection();
const print = section.print;

const quick = process.argv.includes('--quick');
const artifactAt = process.argv.indexOf('--artifact');
const ARTIFACT = artifactAt >= 0 ? process.argv[artifactAt + 1] : 'auto';
const RUNS = quick ? 5 : 25;
const WARMUP = quick ? 2 : 5;
const MIN_MS = quick ? 50 : 300; // short measurements (MNIST) repeat beyond RUNS until this much time has passed
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : quick ? 1 : 3;
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a positive integer, got ${process.argv[roundsAt + 1]}`);
const BATCH = 32;
const THREADS = [1, 2];
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_step.py', import.meta.url));

const conv = (units, size, stride) => ({ kind: StepKind.CONV2D, units, sizeH: size, sizeW: size, strideH: stride, strideW: stride, padding: 0, useBias: 1 });
const bn = () => ({ kind: StepKind.BATCH_NORM, momentum: 0.99, epsilon: 1e-3 });
const relu = () => ({ kind: StepKind.RELU });
const dense = (units) => ({ kind: StepKind.DENSE, units, useBias: 1 });
const pool = (size) => ({ kind: StepKind.MAX_POOL, sizeH: size, sizeW: size, strideH: size, strideW: size, padding: 0 });
const flatten = () => ({ kind: StepKind.FLATTEN });
const softmax = () => ({ kind: StepKind.SOFTMAX });

const NETS = [
  {
    name: 'mnist',
    title: 'MNIST net (28x28x1, 3,554 params)',
    input: [28, 28, 1],
    classes: 10,
    params: 3554,
    layers: [conv(8, 3, 2), relu(), conv(8, 3, 2), relu(), flatten(), dense(10), softmax()],
  },
  {
    name: 'breakhis',
    title: 'BreakHis net (224x224x3, 319,106 params)',
    input: [224, 224, 3],
    classes: 2,
    params: 319106,
    layers: [
      conv(16, 3, 4), bn(), relu(),
      conv(32, 3, 2), bn(), relu(),
      pool(2),
      conv(64, 3, 2), bn(), relu(),
      flatten(), dense(128), relu(),
      dense(2), softmax(),
    ],
  },
];
const LAYER_NAMES = {
  [StepKind.CONV2D]: (l) => `Conv2D(${l.units}, ${l.sizeH}x${l.sizeW}, s${l.strideH})`,
  [StepKind.BATCH_NORM]: () => 'BatchNorm',
  [StepKind.RELU]: () => 'ReLU',
  [StepKind.MAX_POOL]: (l) => `MaxPool(${l.sizeH})`,
  [StepKind.FLATTEN]: () => 'Flatten',
  [StepKind.DENSE]: (l) => `Dense(${l.units})`,
  [StepKind.SOFTMAX]: () => 'Softmax',
};
const BLOCKS = [
  ['conv1 + BN + ReLU', 0, 2],
  ['conv2 + BN + ReLU', 3, 5],
  ['max pool', 6, 6],
  ['conv3 + BN + ReLU', 7, 9],
  ['flatten + dense head + softmax', 10, 14],
];
const layerName = (l) => LAYER_NAMES[l.kind]?.(l) ?? `kind ${l.kind}`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median of at least `runs` timed runs (and at least MIN_MS of them in total) after `warmup` runs. */
function time(run, runs = RUNS, warmup = WARMUP) {
  for (let i = 0; i < warmup; i++) run();
  const times = [];
  const t0 = performance.now();
  while (times.length < runs || (performance.now() - t0 < MIN_MS && times.length < 5000)) {
    const s = performance.now();
    run();
    times.push(performance.now() - s);
  }
  return median(times);
}

/** Busy CPU time of the whole machine in ms (Linux /proc/stat, USER_HZ = 100), or null elsewhere. */
function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - f[3] - f[4]) * 10;
  } catch {
    return null;
  }
}

/**
 * Runs `measure` (which returns a median) while watching the CPU time that
 * other processes use: machine busy time minus this process's (all threads),
 * per wall-clock ms, in cores. The machine is shared; when others used more
 * than 0.25 of a core during a measurement of at least 100 ms it is repeated
 * (at most 3 attempts) and the least-disturbed attempt is kept. The foreign
 * load is printed beside each result.
 */
function watched(measure, attempts = 3) {
  let best = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const b0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const ms = measure();
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    const b1 = machineBusyMs();
    const foreign = b0 === null ? null : Math.max(0, (b1 - b0 - (c.user + c.system) / 1000) / wall);
    if (best === null || (foreign ?? 0) < (best.foreign ?? 0)) best = { ms, foreign, wall, attempts: attempt + 1 };
    else best.attempts = attempt + 1;
    if (foreign === null || foreign <= 0.25 || wall < 100) break;
  }
  return best;
}

/** Glorot-uniform kernels (Keras' default), zero biases, BN gamma 1 / beta 0 / moving variance 1. */
function init(model, seed) {
  model.tensors.forEach((t, i) => {
    if (t.role === 'kernel') {
      const out = model.stepShape(t.step)[2];
      const limit = Math.sqrt(6 / (t.length / out + out));
      model.fillRandom(t, 'uniform', -limit, limit, seed, i);
    } else {
      model.tensor(t).fill(t.role === 'gamma' || t.role === 'movingVariance' ? 1 : 0);
    }
  });
}

/** A model of `layers`, initialised, with a batch of uniform [0, 1) inputs written into its input buffer. */
function build(engine, input, layers) {
  const model = CompiledModel.create(engine, { input, maxBatch: BATCH, steps: layers });
  init(model, 7);
  const x = model.inputView(BATCH);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  return model;
}

function labels(classes) {
  return Uint32Array.from({ length: BATCH }, (_, i) => (i * 7 + 3) % classes);
}

/** (a) and (b): train step at batch 32, inference at batch 1 and 32. */
function measureNet(engine, net) {
  const model = build(engine, net.input, net.layers);
  const params = model.params().length;
  const flops = layerFlops(layerMacs(model, net.layers, BATCH));
  model.configure({ loss: 'softmaxCrossEntropy', optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } });
  const targets = labels(net.classes);
  let step = 0;
  const train = watched(() => time(() => model.trainStep({ batch: BATCH, targets, learningRate: 1e-3, step: ++step, seed: 1 })));
  const forwardTrain = watched(() => time(() => model.forward(undefined, BATCH, { training: true })));
  const infer1 = watched(() => time(() => model.forward(undefined, 1, { keep: false })));
  const infer32 = watched(() => time(() => model.forward(undefined, BATCH, { keep: false })));
  model.free();
  return { params, flops, train, forwardTrain, infer1, infer32 };
}

/**
 * (c) Where the time goes in the BreakHis net, at batch 32:
 *  - forward: the first k layers as their own model (k = 1..n), timed in
 *    inference and in training mode; layer k's cost is the increment
 *    T(k) - T(k-1).
 *  - backward: after a training-mode forward of the full model,
 *    backwardFrom(from = logits layer, stop = k) back-propagates the layers
 *    above k (weight and input gradients); layer k's backward cost is the
 *    increment between stop = k-1 and stop = k. backwardFrom also copies the
 *    gradient at the stop layer out (once inside wasm, once to JS); that copy
 *    is estimated as twice the time of model.activation(stop) (a JS copy of
 *    the same size) and subtracted. Layer 0's backward (weight gradient only:
 *    training skips the first layer's input gradient), the loss and the Adam
 *    update are what remains of the step: step - training forward - backward
 *    of layers 1..head.
 * Only about ten BreakHis-sized models fit in the engine's 1 GiB at once, so
 * the prefixes are measured in rounds (build, time a few runs, free; next
 * prefix), and each median is over the runs of all rounds: slow phases of a
 * shared machine then hit every prefix alike instead of a few.
 */
function breakdown(engine, net) {
  const n = net.layers.length;
  const rounds = quick ? 1 : 5;
  const perRound = Math.ceil(RUNS / rounds);
  const samples = () => Array.from({ length: n + 1 }, () => []);
  const inferRuns = samples();
  const trainRuns = samples();
  const sample = (out, run) => {
    for (let i = 0; i < 2; i++) run();
    for (let i = 0; i < perRound; i++) {
      const s = performance.now();
      run();
      out.push(performance.now() - s);
    }
  };
  for (let r = 0; r < rounds; r++) {
    for (let k = 1; k <= n; k++) {
      const m = build(engine, net.input, net.layers.slice(0, k));
      sample(inferRuns[k], () => m.forward(undefined, BATCH, { keep: false }));
      sample(trainRuns[k], () => m.forward(undefined, BATCH, { training: true }));
      m.free();
    }
  }
  const fwdInfer = inferRuns.map((xs) => (xs.length ? median(xs) : 0));
  const fwdTrain = trainRuns.map((xs) => (xs.length ? median(xs) : 0));

  const model = build(engine, net.input, net.layers);
  const flops = layerFlops(layerMacs(model, net.layers, BATCH));
  model.configure({ loss: 'softmaxCrossEntropy', optimizer: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } });
  const targets = labels(net.classes);
  const head = n - 2; // the Dense(2) whose output the fused softmax cross-entropy reads
  const dy = new Float32Array(BATCH * net.classes).map((_, i) => ((i % 3) - 1) / BATCH);
  const stepRuns = [];
  const fwdRuns = [];
  const bwdRuns = Array.from({ length: head }, () => []);
  const copyRuns = Array.from({ length: head }, () => []);
  let step = 0;
  for (let r = 0; r < rounds; r++) {
    sample(stepRuns, () => model.trainStep({ batch: BATCH, targets, learningRate: 1e-3, step: ++step, seed: 1 }));
    sample(fwdRuns, () => model.forward(undefined, BATCH, { training: true, keep: true }));
    for (let k = 0; k < head; k++) {
      sample(bwdRuns[k], () => model.backwardFrom(BATCH, head, dy, k, { training: true }));
      sample(copyRuns[k], () => model.activation(k, BATCH));
    }
  }
  model.free();
  const train = median(stepRuns);
  const forwardTrain = median(fwdRuns);
  // bwdAbove[k]: backward of layers k+1..head (stop = k), copy-corrected.
  const bwdAbove = bwdRuns.map((xs, k) => Math.max(0, median(xs) - 2 * median(copyRuns[k])));
  bwdAbove[head] = 0;
  const rows = [];
  for (let k = 0; k < n; k++) {
    rows.push({
      index: k,
      name: layerName(net.layers[k]),
      infer: fwdInfer[k + 1] - fwdInfer[k],
      fwdTrain: fwdTrain[k + 1] - fwdTrain[k],
      bwd: k >= 1 && k <= head ? bwdAbove[k - 1] - bwdAbove[k] : null,
    });
  }
  const rest = train - forwardTrain - bwdAbove[0];
  return { rows, flops, train, forwardTrain, prefixInfer: fwdInfer[n], prefixTrain: fwdTrain[n], backwardAbove0: bwdAbove[0], rest };
}

/** PyTorch's measurements at `threads` (benches/torch_step.py --threads), or { skipped }. */
function runTorch(threads) {
  if (!existsSync(PYTHON)) return { skipped: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `${PYTHON} cannot import torch (install Debian's python3-torch)` };
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, '--threads', String(threads), ...(quick ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return { skipped: `torch_step.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const f = (ms) => (ms === null || ms === undefined ? '—' : ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const load = (w) => (w.foreign === null ? '?' : w.wall < 100 ? 'n/a' : w.foreign.toFixed(2));
const ratioText = (r) => (r === null ? '—' : `${r.toFixed(2)}x`);

// ---------------------------------------------------------------------------

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const peak = await simdPeak();
print(`lite-cnn step benchmark — ${new Date().toISOString()}`);
print(`Node ${process.version}, ${cpu}, ${os.availableParallelism()} logical CPUs, ${os.platform()} ${os.release()}`);
print(`pool threads: ${THREADS.join(' and ')} (a separate Engine each); batch ${BATCH}; median of >= ${RUNS} timed runs (more while under ${MIN_MS} ms in total) after ${WARMUP} warm-up runs${quick ? ' (--quick)' : ''}`);
print('train = one trainStep (forward, softmax CE, backward, Adam) with inputs already in model.inputView(32): the step, not an input copy.');
print('infer = forward(undefined, batch) in inference mode, including the copy of the output to JS.');

const METRICS = ['train', 'infer1', 'infer32', 'forwardTrain'];
const oursRounds = {}; // oursRounds[net][threads]: measureNet's result per round
const theirsRounds = {}; // theirsRounds[net][threads]: torch_step.py's result per round
let torchSkipped = null;
let torchInfo = null;
for (let round = 0; round < ROUNDS; round++) {
  for (const threads of THREADS) {
    const engine = await Engine.create({ threads, artifact: ARTIFACT });
    if (round === 0 && threads === THREADS[0]) print(`engine: artifact ${engine.artifact}, SIMD ${engine.simd}, relaxed SIMD ${engine.relaxedSimd}`);
    for (const net of NETS) {
      const r = measureNet(engine, net);
      if (r.params !== net.params) print(`WARNING: ${net.name} has ${r.params} params, expected ${net.params}`);
      ((oursRounds[net.name] ??= {})[threads] ??= []).push(r);
    }
    await engine.shutdown();
    if (torchSkipped) continue;
    const torch = runTorch(threads);
    if (torch.skipped) {
      torchSkipped = torch.skipped;
      continue;
    }
    torchInfo = torch;
    for (const r of torch.results) ((theirsRounds[r.net] ??= {})[threads] ??= []).push(r);
  }
}
const breakdowns = {};
for (const threads of THREADS) {
  const engine = await Engine.create({ threads, artifact: ARTIFACT });
  const b = watched(() => breakdown(engine, NETS[1]), 1);
  breakdowns[threads] = { ...b.ms, foreign: b.foreign, wall: b.wall };
  await engine.shutdown();
}

// ours[net][threads]: measureNet's shape, each time the median over rounds and
// the other load the largest; theirs[net][threads]: medians likewise;
// ratios[net][threads][metric]: { median, rounds } of the per-round ratios.
const ours = {};
const theirs = {};
const ratios = {};
for (const net of NETS) {
  for (const threads of THREADS) {
    const rs = oursRounds[net.name][threads];
    const o = { params: rs[0].params, flops: rs[0].flops };
    for (const m of METRICS) {
      const ws = rs.map((r) => r[m]);
      o[m] = { ms: median(ws.map((w) => w.ms)), foreign: ws.some((w) => w.foreign === null) ? null : Math.max(...ws.map((w) => w.foreign)), wall: Math.min(...ws.map((w) => w.wall)) };
    }
    (ours[net.name] ??= {})[threads] = o;
    const ts = theirsRounds[net.name]?.[threads];
    if (!ts) continue;
    const t = { foreign: ts[0].foreign.map((_, i) => (ts.some((x) => x.foreign[i] === null) ? null : Math.max(...ts.map((x) => x.foreign[i])))) };
    const rr = {};
    for (const m of ['train', 'infer1', 'infer32']) {
      t[m] = median(ts.map((x) => x[m]));
      const perRound = ts.map((x, i) => x[m] / rs[i][m].ms);
      rr[m] = { median: median(perRound), rounds: perRound };
    }
    (theirs[net.name] ??= {})[threads] = t;
    (ratios[net.name] ??= {})[threads] = rr;
  }
}

if (torchSkipped) {
  print(`\nPyTorch: skipped — ${torchSkipped}`);
} else {
  print(`\nPyTorch ${torchInfo.torch} (Python ${torchInfo.python}, ${PYTHON}), median of ${torchInfo.runs} after ${torchInfo.warmup} warm-up; torch.set_num_threads(1|2); inference in eval mode under no_grad`);
}
print(`${ROUNDS} round(s), each: lite-cnn then PyTorch at 1 thread, then both at 2 threads. Times: median over rounds; ratio: median over rounds of the round's PyTorch time / lite-cnn time.`);

print('');
print('| net | threads | lite-cnn train b32 ms | lite-cnn infer b1 ms | lite-cnn infer b32 ms | torch train b32 ms | torch infer b1 ms | torch infer b32 ms | train torch/lite-cnn | infer b1 torch/lite-cnn | infer b32 torch/lite-cnn | other load, cores (lite-cnn train/b1/b32; torch) |');
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const net of NETS) {
  for (const threads of THREADS) {
    const o = ours[net.name][threads];
    const t = theirs[net.name]?.[threads];
    const r = ratios[net.name]?.[threads];
    const cell = (m) => ratioText(r ? r[m].median : null);
    print(
      `| ${net.name} | ${threads} | ${f(o.train.ms)} | ${f(o.infer1.ms)} | ${f(o.infer32.ms)} | ${f(t?.train)} | ${f(t?.infer1)} | ${f(t?.infer32)} | ${cell('train')} | ${cell('infer1')} | ${cell('infer32')} | ${[o.train, o.infer1, o.infer32].map(load).join(', ')}; torch ${t ? t.foreign.map((x) => (x === null ? 'n/a' : x.toFixed(2))).join(', ') : '—'} |`,
    );
  }
}
print(`(ratio > 1: lite-cnn is faster. "other load": CPU used by other processes during the measurement, in cores of 2, the largest over rounds; a value was re-measured up to 3 times when it exceeded 0.25 and the least-disturbed attempt kept; "n/a": too short to tell)`);
if (ROUNDS > 1 && !torchSkipped) {
  print('');
  print('Ratio in each round (PyTorch time / lite-cnn time, both measured in that round), to show the drift:');
  print('');
  print('| net | threads | train | infer b1 | infer b32 |');
  print('|---|---:|---|---|---|');
  for (const net of NETS) {
    for (const threads of THREADS) {
      const r = ratios[net.name][threads];
      print(`| ${net.name} | ${threads} | ${['train', 'infer1', 'infer32'].map((m) => r[m].rounds.map((x) => x.toFixed(2)).join(', ')).join(' | ')} |`);
    }
  }
}

print('');
print('Training step split (batch 32): training-mode forward (batch statistics) vs the rest (loss, backward, Adam):');
print('');
print('| net | threads | step ms | forward (training mode) ms | step - forward ms |');
print('|---|---:|---:|---:|---:|');
for (const net of NETS) {
  for (const threads of THREADS) {
    const o = ours[net.name][threads];
    print(`| ${net.name} | ${threads} | ${f(o.train.ms)} | ${f(o.forwardTrain.ms)} | ${f(o.train.ms - o.forwardTrain.ms)} |`);
  }
}

print('');
print(`Arithmetic rate: GFLOP/s of the convolutions and Dense layers (2 flop per multiply-add; BatchNorm, ReLU, pooling, loss and Adam take time but are not counted), in parentheses the fraction of the exact / relaxed SIMD128 peak of that many threads (${peak.exact.toFixed(1)} / ${peak.relaxed.toFixed(1)} GFLOP/s per thread, measured by benches/peak.mjs):`);
print('');
print('| net | threads | step GFLOP | train b32 | forward (training mode) | infer b32 |');
print('|---|---:|---:|---:|---:|---:|');
for (const net of NETS) {
  for (const threads of THREADS) {
    const o = ours[net.name][threads];
    const fwd = o.flops.fwd.reduce((a, b) => a + b, 0);
    print(`| ${net.name} | ${threads} | ${(o.flops.step / 1e9).toFixed(2)} | ${rateCell(o.flops.step, o.train.ms, peak, threads)} | ${rateCell(fwd, o.forwardTrain.ms, peak, threads)} | ${rateCell(fwd, o.infer32.ms, peak, threads)} |`);
  }
}

print('');
print(`Where the time goes — BreakHis net, batch 32, ms per layer (CPU used by other processes meanwhile: ${load(breakdowns[1])} cores during the 1-thread part, ${load(breakdowns[2])} during the 2-thread part):`);
print('- forward columns: the first k layers built as their own model and timed (inference / training mode); a layer\'s cost is T(k) - T(k-1).');
print('- backward column: backwardFrom(logits layer -> stop) after a training forward; a layer\'s cost is the increment when the stop moves below it,');
print('  minus an estimate of the gradient copy-out backwardFrom does (2x a JS copy of the same size). Layer 0 (weight gradient only),');
print('  the loss and the Adam update are the remainder of the step. Small values are within noise and can be negative.');
print('');
print(`| # | layer | infer 1t | infer 2t | fwd train 1t | fwd train 2t | bwd 1t | bwd 2t |`);
print('|---:|---|---:|---:|---:|---:|---:|---:|');
const b1 = breakdowns[1];
const b2 = breakdowns[2];
for (let k = 0; k < b1.rows.length; k++) {
  const a = b1.rows[k];
  const b = b2.rows[k];
  print(`| ${a.index} | ${a.name} | ${f(a.infer)} | ${f(b.infer)} | ${f(a.fwdTrain)} | ${f(b.fwdTrain)} | ${f(a.bwd)} | ${f(b.bwd)} |`);
}
print(`| | whole net (prefix k = ${b1.rows.length}; backward: layers 1..13) | ${f(b1.prefixInfer)} | ${f(b2.prefixInfer)} | ${f(b1.prefixTrain)} | ${f(b2.prefixTrain)} | ${f(b1.backwardAbove0)} | ${f(b2.backwardAbove0)} |`);
print('');
print('The same by block (a block\'s cost is one difference of prefix times, so less noisy than single layers; conv1\'s backward here is BN + ReLU only, its conv is in the remainder below), ms:');
print('');
print('| block | layers | infer 1t | infer 2t | fwd train 1t | fwd train 2t | bwd 1t | bwd 2t |');
print('|---|---|---:|---:|---:|---:|---:|---:|');
for (const [name, from, to] of BLOCKS) {
  const sum = (rows, key) => {
    const xs = rows.slice(from, to + 1).map((r) => r[key]);
    return xs.some((x) => x === null) && xs.every((x) => x === null) ? null : xs.reduce((a, x) => a + (x ?? 0), 0);
  };
  const cells = [b1, b2].flatMap((b) => [sum(b.rows, 'infer')]).concat([b1, b2].map((b) => sum(b.rows, 'fwdTrain')), [b1, b2].map((b) => sum(b.rows, 'bwd')));
  print(`| ${name} | ${from}-${to} | ${cells.map(f).join(' | ')} |`);
}
print('');
print('Arithmetic rate by block (GFLOP/s, fraction of the exact / relaxed peak as above; a block\'s time includes its BatchNorm and ReLU; the remainder\'s flop are conv1\'s weight gradient):');
print('');
print('| block | fwd GFLOP | fwd train 1t | fwd train 2t | bwd GFLOP | bwd 1t | bwd 2t |');
print('|---|---:|---:|---:|---:|---:|---:|');
const blockSum = (b, key, from, to) => b.rows.slice(from, to + 1).reduce((a, r) => a + (r[key] ?? 0), 0);
const flopSum = (xs, from, to) => xs.slice(from, to + 1).reduce((a, x) => a + x, 0);
const gf = (x) => (x ? (x / 1e9).toFixed(3) : '—');
for (const [name, from, to] of BLOCKS) {
  const fwdFlop = flopSum(b1.flops.fwd, from, to);
  const bwdFlop = flopSum(b1.flops.bwd, Math.max(from, 1), to); // conv1's weight gradient is in the remainder
  const rate = (flop, key) => [[b1, 1], [b2, 2]].map(([b, t]) => rateCell(flop, blockSum(b, key, from, to), peak, t));
  print(`| ${name} | ${gf(fwdFlop)} | ${rate(fwdFlop, 'fwdTrain').join(' | ')} | ${gf(bwdFlop)} | ${rate(bwdFlop, 'bwd').join(' | ')} |`);
}
const conv1Dw = b1.flops.bwd[0];
print(`| remainder: conv1 weight gradient + loss + Adam | — | — | — | ${gf(conv1Dw)} | ${rateCell(conv1Dw, b1.rest, peak, 1)} | ${rateCell(conv1Dw, b2.rest, peak, 2)} |`);
print(`| whole step | | | | ${gf(b1.flops.step)} | ${rateCell(b1.flops.step, b1.train, peak, 1)} | ${rateCell(b1.flops.step, b2.train, peak, 2)} |`);
print('');
print('BreakHis training step (batch 32) decomposed, ms:');
print('');
print('(trainStep runs each BatchNorm -> ReLU pair as one step, the training fusion; the training-mode forward and backwardFrom run every layer as written, so the saving shows in the remainder, which it can make small or negative.)');
print('');
print('| threads | step | forward, training mode | backward of layers 1..13 | remainder: layer 0 backward (weight grad) + loss + Adam |');
print('|---:|---:|---:|---:|---:|');
for (const [threads, b] of [[1, b1], [2, b2]]) {
  print(`| ${threads} | ${f(b.train)} | ${f(b.forwardTrain)} | ${f(b.backwardAbove0)} | ${f(b.rest)} |`);
}
section.save('step', '### Recorded run (`npm run bench:step`)');
