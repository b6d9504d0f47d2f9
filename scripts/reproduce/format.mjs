// Formatting and the only statistics of scripts/reproduce.mjs: mean and sample standard deviation.

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
export const finite = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));

/** "mean ± std" of a list (one value: just the value); `scale` and `digits` format it. */
export function pm(values, { scale = 1, digits = 1, unit = '' } = {}) {
  const xs = finite(values).map((x) => x * scale);
  if (xs.length === 0) return 'n/a';
  if (xs.length === 1) return `${xs[0].toFixed(digits)}${unit}`;
  return `${mean(xs).toFixed(digits)}${unit} ± ${std(xs).toFixed(digits)}`;
}
export const pct = (values) => pm(values, { scale: 100, digits: 1, unit: '%' });
export const one = (x, digits = 1, scale = 1) => (typeof x === 'number' && Number.isFinite(x) ? (x * scale).toFixed(digits) : 'n/a');

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

