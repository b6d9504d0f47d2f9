// Timing helpers shared by the peer benchmarks, in benches/step.mjs' style:
// median of >= RUNS timed runs after warm-up runs, and the CPU time that
// *other* processes used meanwhile (/proc/stat minus this process), so a
// measurement disturbed by the machine's other users can be seen and redone.
import { readFileSync } from 'node:fs';

import { settings, time as timeWith } from './timing.mjs';

export const quick = process.argv.includes('--quick');
export const S = settings(quick);
export const { RUNS, WARMUP, MIN_MS, MAX_MS, MIN_TIMED } = S;
export const BATCH = 32;
export { median } from './timing.mjs';

/** { ms: median, n: timed runs } of `run` (sync or async); see timing.mjs. */
export const time = (run) => timeWith(run, S);

/** Busy CPU time of the whole machine in ms (Linux /proc/stat, USER_HZ = 100), or null elsewhere. */
export function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - f[3] - f[4]) * 10;
  } catch {
    return null;
  }
}

/**
 * Times `run` while watching the CPU used by other processes (machine busy
 * time minus this process's, all threads, per wall ms, in cores). When others
 * used more than 0.25 core during a measurement of >= 100 ms it is repeated
 * (at most 3 attempts; measurements over 20 s are not repeated) and the
 * least-disturbed attempt kept. Returns { ms, n, foreign, wall, attempts }.
 */
export async function watched(run, attempts = 3) {
  let best = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const b0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const t = await time(run);
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    const b1 = machineBusyMs();
    const foreign = b0 === null ? null : Math.max(0, (b1 - b0 - (c.user + c.system) / 1000) / wall);
    if (best === null || (foreign ?? 0) < (best.foreign ?? 0)) best = { ...t, foreign, wall, attempts: attempt + 1 };
    else best.attempts = attempt + 1;
    if (foreign === null || foreign <= 0.25 || wall < 100 || wall > 20_000) break;
  }
  return best;
}

/** Runs `fn` and turns a thrown error into { error } (a peer that cannot do something is a result, not a failure). */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: String(e?.message ?? e).split('\n')[0].slice(0, 200) };
  }
}

/** The child's result: one JSON line, last on stdout. */
export function emit(obj) {
  process.stdout.write(`\n${JSON.stringify(obj)}\n`);
}

/** OS threads of this process (Linux /proc/self/status), or null: evidence of what a runtime really started. */
export function osThreads() {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) || null;
  } catch {
    return null;
  }
}
