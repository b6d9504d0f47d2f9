// Convolution kernels one layer shape at a time (ResNet-18, the BreakHis net and
// MobileNetV2 at 224x224), through the kernel-level `lc_conv2d` export: forward at batch 1
// and 32 (`fwd*`: the path the executor takes; `im2col*`: im2col + GEMM
// forced, the path before Winograd; `wino*` and `wino4_*`, on request:
// Winograd F(2x2,3x3) or F(4x4,3x3) forced with the kernel transform in each
// call, 3x3 stride-1 only), input and weight gradients at batch 32, on 1
// and 2 pool threads. Winograd does fewer multiplies than the convolution's
// flop count, so its GFLOP/s are effective (direct-convolution flops / time)
// and may pass 100% of the peak.
// A benchmark, not a test: it asserts nothing and prints GFLOP/s and the
// fraction of the measured SIMD128 peak (benches/peak.mjs) of the artifact the
// engine runs (relaxed where the runtime has relaxed SIMD, else exact).
//   npm run bench:conv                 (all shapes)
//   node benches/conv.mjs --quick --only resnet18 --passes fwd1,fwd32,wino1,wino32,wino4_1,wino4_32
import os from 'node:os';
import { Engine } from '@lite-cnn/sdk';
import { settings, time } from './peers/timing.mjs';
import { fill } from './fill.mjs';
import { printedSection } from './readme-section.mjs';
import { simdPeak } from './peak.mjs';

const argv = process.argv;
const arg = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const S = settings(argv.includes('--quick'));
const section = printedSection();
const print = section.print;

/** `[name, h_in, c_in, c_out, k, stride, pad]`, square, symmetric padding. */
const SHAPES = {
  resnet18: [
    ['conv1 7x7/2', 224, 3, 64, 7, 2, 3],
    ['layer1 3x3', 56, 64, 64, 3, 1, 1],
    ['layer2.0 3x3/2', 56, 64, 128, 3, 2, 1],
    ['layer2.0 down 1x1/2', 56, 64, 128, 1, 2, 0],
    ['layer2 3x3', 28, 128, 128, 3, 1, 1],
    ['layer3.0 3x3/2', 28, 128, 256, 3, 2, 1],
    ['layer3 3x3', 14, 256, 256, 3, 1, 1],
    ['layer4.0 3x3/2', 14, 256, 512, 3, 2, 1],
    ['layer4.0 down 1x1/2', 14, 256, 512, 1, 2, 0],
    ['layer4 3x3', 7, 512, 512, 3, 1, 1],
  ],
  breakhis: [
    ['conv1 3x3/4 valid', 224, 3, 16, 3, 4, 0],
    ['conv2 3x3/2 valid', 55, 16, 32, 3, 2, 0],
    ['conv3 3x3/2 valid', 13, 32, 64, 3, 2, 0],
  ],
  mobilenetv2: [
    ['stem 3x3/2', 224, 3, 32, 3, 2, 1],
    ['expand 1x1 56x56 24->144', 56, 24, 144, 1, 1, 0],
    ['project 1x1 28x28 192->32', 28, 192, 32, 1, 1, 0],
    ['expand 1x1 14x14 64->384', 14, 64, 384, 1, 1, 0],
    ['head 1x1 7x7 320->1280', 7, 320, 1280, 1, 1, 0],
  ],
};
const PASSES = {
  fwd1: { code: 0, batch: 1 },
  fwd32: { code: 0, batch: 32 },
  im2col1: { code: 3, batch: 1 },
  im2col32: { code: 3, batch: 32 },
  wino1: { code: 4, batch: 1, only: winogradApplies },
  wino32: { code: 4, batch: 32, only: winogradApplies },
  wino4_1: { code: 5, batch: 1, only: winogradApplies },
  wino4_32: { code: 5, batch: 32, only: winogradApplies },
  dx32: { code: 1, batch: 32 },
  dw32: { code: 2, batch: 32 },
};
const DEFAULT_PASSES = ['fwd1', 'fwd32', 'im2col1', 'im2col32', 'dx32', 'dw32'];
/** Whether Winograd can run `shape` (3x3, stride 1). */
function winogradApplies([, , , , k, stride]) {
  return k === 3 && stride === 1;
}
const only = arg('--only')?.split(',') ?? Object.keys(SHAPES);
const passes = arg('--passes')?.split(',') ?? DEFAULT_PASSES;
const threadCounts = (arg('--threads') ?? '1,2').split(',').map(Number);
const peaks = await simdPeak();
/** The artifact the engines ran ('relaxed' or 'exact'), whose peak the cells divide by. */
let kind = 'exact';

function geometry(batch, [, h, cIn, cOut, k, stride, pad]) {
  const out = Math.floor((h + 2 * pad - k) / stride) + 1;
  return { words: [batch, h, h, cIn, cOut, k, k, stride, stride, pad, pad, pad, pad], xLen: batch * h * h * cIn, wLen: k * k * cIn * cOut, yLen: batch * out * out * cOut, macs: batch * out * out * k * k * cIn * cOut };
}

async function measure(engine, shape, pass) {
  const { code, batch } = PASSES[pass];
  const g = geometry(batch, shape);
  const geom = engine.allocF32(13);
  new Uint32Array(geom.view().buffer, geom.view().byteOffset, 13).set(g.words);
  const ex = engine.raw;
  const scratchLen = ex.lc_conv2d_scratch_len(geom.ptr);
  const [aLen, bLen, outLen] = [[g.xLen, g.wLen, g.yLen], [g.wLen, g.yLen, g.xLen], [g.xLen, g.yLen, g.wLen]][code === 1 || code === 2 ? code : 0];
  const bufs = [engine.allocF32(aLen), engine.allocF32(bLen), engine.allocF32(outLen), engine.allocF32(scratchLen)];
  fill(bufs[0], 1);
  fill(bufs[1], 2);
  const run = () => engine.call('conv2d', () => ex.lc_conv2d(code, geom.ptr, bufs[0].ptr, bufs[1].ptr, bufs[2].ptr, bufs[3].ptr));
  const { ms } = await time(run, S);
  for (const b of [geom, ...bufs]) b.free();
  const gflops = (2 * g.macs) / (ms * 1e6);
  return { ms, gflops, scratchMiB: (scratchLen * 4) / 2 ** 20 };
}

const results = new Map();
for (const threads of threadCounts) {
  const engine = await Engine.create({ threads });
  kind = engine.artifact.includes('relaxed') ? 'relaxed' : 'exact';
  for (const net of only) {
    for (const shape of SHAPES[net]) {
      for (const pass of passes) {
        if (PASSES[pass].only && !PASSES[pass].only(shape)) continue;
        const r = await measure(engine, shape, pass);
        results.set(`${net}|${shape[0]}|${pass}|${threads}`, r);
        console.error(`${threads}t ${net} ${shape[0]} ${pass}: ${r.ms.toFixed(2)} ms ${r.gflops.toFixed(1)} GFLOP/s`);
      }
    }
  }
  await engine.shutdown();
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const peakPerThread = peaks[kind];
print(`lite-cnn convolution kernels — Node ${process.version}, ${cpu}, load ${os.loadavg()[0].toFixed(2)}`);
print(`Measured SIMD128 peak of the ${kind} artifacts ${peakPerThread.toFixed(1)} GFLOP/s per thread (benches/peak.mjs). Cells: GFLOP/s (fraction of peak for the thread count); Winograd's are effective (direct-convolution flops / time).`);
print('');
const cols = passes.flatMap((p) => threadCounts.map((t) => `${p} ${t}t`));
print(`| net | layer | ${cols.join(' | ')} |`);
print(`|---|---|${cols.map(() => '---:').join('|')}|`);
for (const net of only) {
  for (const shape of SHAPES[net]) {
    const cells = passes.flatMap((p) =>
      threadCounts.map((t) => {
        const r = results.get(`${net}|${shape[0]}|${p}|${t}`);
        if (!r) return '—';
        return `${r.gflops.toFixed(1)} (${((100 * r.gflops) / (peakPerThread * t)).toFixed(0)}%)`;
      }),
    );
    print(`| ${net} | ${shape[0]} | ${cells.join(' | ')} |`);
  }
}
section.save('conv', '### Convolution kernels (`npm run bench:conv`)');
