// This CPU's SIMD128 peak per thread, measured, shared by the benches that
// report a fraction of it (benches/conv.mjs, benches/step.mjs).
//
// Measured rather than computed from the clock: the clock /proc/cpuinfo
// reports is the base clock (a boosting CPU runs well above it), and how many
// f32x4 multiplies, adds and fused multiply-adds issue per cycle depends on the
// core (on AMD Zen multiplies and adds have pipes of their own; on recent Intel
// cores they share the two FMA ports with a third adder beside them). A small
// wasm module runs independent chains of each artifact's multiply-add for a
// few milliseconds, and the best of several runs is the peak:
//   exact:   an f32x4.mul and an f32x4.add per multiply-add, as the exact
//            artifacts compute it. In a GEMM the add waits on its accumulator
//            and the multiply does not, so the benchmark runs independent
//            chains of each and lets them overlap as far as the ports allow.
//   relaxed: f32x4.relaxed_madd (one fused multiply-add where the CPU has FMA),
//            as the relaxed artifacts compute it.
// Each chain's operand is a zero passed in at run time: the values never grow
// or turn subnormal, and the compiler cannot fold them. Every accumulator is
// summed into the result, so no chain is dead code.
import v8 from 'node:v8';
import wabtInit from 'wabt';

/** Chains per kernel: enough to cover each op's latency at full throughput, few enough for V8's 15 vector registers. */
const RELAXED_CHAINS = 12;
const MUL_ADD_CHAINS = 7;
const ITERATIONS = 5e6;
const RUNS = 5;

/** A function `(n, zero) -> f32` running `n` iterations of `body` over `chains` v128 accumulators, then summing them. */
function kernel(name, chains, body) {
  const acc = Array.from({ length: chains }, (_, i) => `$a${i}`);
  return `(func (export "${name}") (param $n i32) (param $zero f32) (result f32) ${acc.map((a) => `(local ${a} v128)`).join(' ')} (local $z v128)
    (local.set $z (f32x4.splat (local.get $zero)))
    (loop $steps
      ${body(acc).join('\n      ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $steps (local.get $n)))
    ${acc.slice(1).map((a) => `(local.set $a0 (f32x4.add (local.get $a0) (local.get ${a})))`).join(' ')}
    (f32x4.extract_lane 0 (local.get $a0)))`;
}

const KERNELS = {
  exact: {
    flopPerIteration: MUL_ADD_CHAINS * 4 * 2,
    wat: kernel('exact', 2 * MUL_ADD_CHAINS, (acc) =>
      acc.map((a, i) =>
        i < MUL_ADD_CHAINS ? `(local.set ${a} (f32x4.mul (local.get ${a}) (local.get $z)))` : `(local.set ${a} (f32x4.add (local.get ${a}) (local.get $z)))`,
      ),
    ),
  },
  relaxed: {
    flopPerIteration: RELAXED_CHAINS * 4 * 2,
    wat: kernel('relaxed', RELAXED_CHAINS, (acc) => acc.map((a) => `(local.set ${a} (f32x4.relaxed_madd (local.get $z) (local.get $z) (local.get ${a})))`)),
  },
};

let measured;

/**
 * `{ exact, relaxed }`: the per-thread SIMD128 peaks in GFLOP/s (2 flop per
 * multiply-add), measured once per process with the V8 flags the SDK sets on
 * Node (TurboFan only, relaxed SIMD on): the same two as the SDK's
 * `applyNodeWasmFlags` (ts/sdk/src/runtime/artifact.ts), which is internal and
 * runs only when an engine is created, possibly after this measurement.
 */
export async function simdPeak() {
  if (measured) return measured;
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  const wabt = await wabtInit();
  const module = wabt.parseWat('peak.wat', `(module ${Object.values(KERNELS).map((k) => k.wat).join('\n')})`, { simd: true, relaxed_simd: true });
  const { instance } = await WebAssembly.instantiate(module.toBinary({}).buffer);
  module.destroy();
  measured = {};
  for (const [name, k] of Object.entries(KERNELS)) {
    const run = instance.exports[name];
    run(1000, 0);
    let best = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      run(ITERATIONS, 0);
      best = Math.max(best, (ITERATIONS * k.flopPerIteration) / ((performance.now() - t0) * 1e6));
    }
    measured[name] = best;
  }
  return measured;
}

/** `"12.3 (40% / 20%)"`: the rate in GFLOP/s and its fraction of the exact and relaxed peaks of `threads` threads. */
export function rateCell(flop, ms, peak, threads) {
  if (!(ms > 0) || !flop) return '—';
  const gflops = flop / (ms * 1e6);
  const pct = (p) => `${((100 * gflops) / (p * threads)).toFixed(0)}%`;
  return `${gflops.toFixed(1)} (${pct(peak.exact)} / ${pct(peak.relaxed)})`;
}
