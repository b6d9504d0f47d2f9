// GEMM throughput on the reference nets' im2col shapes (M×K×N), with 1 and 2
// pool threads. A benchmark, not a test: it asserts nothing and prints GFLOP/s.
//   npm run bench:gemm            (all shapes)
//   node benches/gemm.mjs --quick (fewer repetitions)
import os from 'node:os';
import { Engine } from '@lite-cnn/sdk';
import { fill } from './fill.mjs';
import { printedSection } from './readme-section.mjs';

const section = printedSection();
const print = section.print;

const SHAPES = [
  { name: 'BreakHis conv1 (224x224x3 -> 16, s4), batch 32', m: 100352, k: 27, n: 16 },
  { name: 'BreakHis conv2 (55x55x16 -> 32, s2), batch 32', m: 23328, k: 144, n: 32 },
  { name: 'BreakHis conv3 (13x13x32 -> 64, s2), batch 32', m: 1152, k: 288, n: 64 },
  { name: 'BreakHis dense1 (2304 -> 128), batch 32', m: 32, k: 2304, n: 128 },
];
const quick = process.argv.includes('--quick');
const targetMs = quick ? 150 : 600;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(threads) {
  const engine = await Engine.create({ threads });
  const rows = [];
  for (const { name, m, k, n } of SHAPES) {
    const a = engine.allocF32(m * k);
    const b = engine.allocF32(k * n);
    const bias = engine.allocF32(n);
    const c = engine.allocF32(m * n);
    fill(a, 1);
    fill(b, 2);
    fill(bias, 3);
    const run = () => engine.gemmInto({ m, k, n, a, b, bias, c });
    for (let i = 0; i < 3; i++) run(); // warm-up (lazy wasm tier-up, page faults)
    const times = [];
    const t0 = performance.now();
    while (times.length < 5 || (performance.now() - t0 < targetMs && times.length < 200)) {
      const s = performance.now();
      run();
      times.push(performance.now() - s);
    }
    const ms = median(times);
    rows.push({ name, shape: `${m}x${k}x${n}`, ms, gflops: (2 * m * k * n) / (ms * 1e6) });
    for (const x of [a, b, bias, c]) x.free();
  }
  await engine.shutdown();
  return rows;
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
print(`lite-cnn GEMM benchmark — Node ${process.version}, ${cpu}, ${os.availableParallelism()} logical CPUs`);
const one = await measure(1);
const two = await measure(2);
print('');
print('| shape (M×K×N) | layer | 1 thread ms | GFLOP/s | 2 threads ms | GFLOP/s | 2t/1t speed-up |');
print('|---|---|---:|---:|---:|---:|---:|');
for (let i = 0; i < one.length; i++) {
  const a = one[i];
  const b = two[i];
  print(
    `| ${a.shape} | ${a.name} | ${a.ms.toFixed(3)} | ${a.gflops.toFixed(1)} | ${b.ms.toFixed(3)} | ${b.gflops.toFixed(1)} | ${(a.ms / b.ms).toFixed(2)}x |`,
  );
}
section.save('gemm', '### Recorded run (`npm run bench:gemm`)');
