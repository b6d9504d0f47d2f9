// This CPU's SIMD128 peak, shared by the benches that report a fraction of it
// (benches/conv.mjs, benches/step.mjs). Exact artifacts: 16 flop per cycle per
// thread (two f32x4 multiplies and two f32x4 adds per cycle; SIMD128 has no
// fused multiply-add). Relaxed artifacts: 32 (`f32x4.relaxed_madd` runs as a
// fused multiply-add where the CPU has FMA, about twice the multiply-add
// throughput). At the clock /proc/cpuinfo reports, or at --ghz; a boosting
// CPU can exceed it.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const FLOP_PER_CYCLE = { exact: 16, relaxed: 32 };

/** The clock /proc/cpuinfo reports (os.cpus() says 0 MHz in some VMs), in GHz. */
function cpuinfoGhz() {
  try {
    const mhz = readFileSync('/proc/cpuinfo', 'utf8').match(/cpu MHz\s*:\s*([\d.]+)/);
    return mhz ? Number(mhz[1]) / 1000 : 0;
  } catch {
    return 0;
  }
}

/** `{ ghz, exact, relaxed }`: the clock and the per-thread peaks in GFLOP/s (`--ghz <GHz>` in argv overrides the clock). */
export function simdPeak(argv = process.argv) {
  const at = argv.indexOf('--ghz');
  const ghz = at >= 0 ? Number(argv[at + 1]) : (os.cpus()[0]?.speed || 0) / 1000 || cpuinfoGhz();
  return { ghz, exact: FLOP_PER_CYCLE.exact * ghz, relaxed: FLOP_PER_CYCLE.relaxed * ghz };
}

/** `"12.3 GFLOP/s (40% / 20%)"`: the rate and its fraction of the exact and relaxed peaks of `threads` threads. */
export function rateCell(flop, ms, peak, threads) {
  if (!(ms > 0) || !flop) return '—';
  const gflops = flop / (ms * 1e6);
  const pct = (p) => `${((100 * gflops) / (p * threads)).toFixed(0)}%`;
  return `${gflops.toFixed(1)} (${pct(peak.exact)} / ${pct(peak.relaxed)})`;
}
