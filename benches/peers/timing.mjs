// Median-of-runs timing shared by the Node children (measure.mjs) and the
// browser workers (browser/*.js): >= runs timed runs after warm-up runs, in
// benches/step.mjs' style, with a cap for very slow measurements.

export function settings(quick) {
  return {
    quick,
    RUNS: quick ? 5 : 25,
    WARMUP: quick ? 2 : 5,
    /** Short measurements repeat beyond RUNS until this much time has passed. */
    MIN_MS: quick ? 50 : 300,
    /**
     * Slow measurements (TensorFlow.js' cpu backend trains the BreakHis net in
     * tens of seconds per step) stop warming up after WARMUP_MAX_MS (at least
     * 1 warm-up run) and stop timing after MAX_MS once MIN_TIMED runs are in;
     * the number of timed runs is reported with every value.
     */
    WARMUP_MAX_MS: quick ? 2_000 : 10_000,
    MAX_MS: quick ? 5_000 : 60_000,
    MIN_TIMED: 3,
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { ms: median, n: timed runs } of `run` (sync or async) under settings `s`. */
export async function time(run, s) {
  const w0 = performance.now();
  for (let i = 0; i < s.WARMUP && (i === 0 || performance.now() - w0 < s.WARMUP_MAX_MS); i++) await run();
  const times = [];
  const t0 = performance.now();
  for (;;) {
    const elapsed = performance.now() - t0;
    if (times.length >= s.RUNS && (elapsed >= s.MIN_MS || times.length >= 5000)) break;
    if (times.length >= s.MIN_TIMED && elapsed >= s.MAX_MS) break;
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return { ms: median(times), n: times.length };
}
