/** Formatting for people: percentages, durations, counts. Display only. */
export function percent(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(digits)}%`;
}

export function fixed(v: number | undefined, digits = 4): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A rate such as images per second: whole numbers from 10 up, two significant digits below (never rounded to 0). */
export function rate(v: number): string {
  return v >= 10 ? count(Math.round(v)) : v.toPrecision(2);
}

/** A duration: tenths of a second under a minute, then whole minutes and seconds (rounded first, so 119.6 s reads 2 min 0 s, not 1 min 60 s). */
export function seconds(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  return `${m} min ${whole - m * 60} s`;
}

/** A learning rate: short, but never rounded to 0. */
export function lr(v: number): string {
  return v.toPrecision(3).replace(/\.?0+(e|$)/, '$1');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** An option's key as its flag, for messages: `imageSize` -> `--image-size`. */
export function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
