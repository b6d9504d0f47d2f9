/** Option values of `lite-cnn explain` (usage errors, exit 2, like args.ts). */
import { InvalidArgumentError } from 'commander';

export const COLORMAPS = ['jet', 'viridis'] as const;

/** The overlay's opacity: a number in [0, 1]. */
export function alpha(value: string): number {
  const n = /^\s*$/.test(value) ? Number.NaN : Number(value);
  if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected an opacity in [0, 1], got '${value}'`);
  return n;
}
