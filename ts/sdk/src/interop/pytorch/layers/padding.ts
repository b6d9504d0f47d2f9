/**
 * A window layer's padding in PyTorch: symmetric pads go to the module's own
 * `padding` (PyTorch pools also need them at most half the window); others
 * become an `F.pad` in front (pad `value` for max pooling: -inf) and
 * `padding=0`.
 */
import type { ExplicitPadding, Padding, Shape3 } from '../../../layers/shape.js';
import { isSymmetric, resolvePads } from '../../layouts.js';
import { pyTuple } from '../python-names.js';

export interface WindowPadding {
  /** The module's `padding` argument. */
  native: string;
  /** `F.pad(x, ...)` when the pads are not native, else `x`. */
  apply(x: string): string;
  /** Whether the pads are applied with `F.pad` rather than by the module. */
  explicit: boolean;
  /** The input size and symmetric pads the module itself sees (for the output-size check of pools). */
  moduleView: { input: [number, number]; pads: ExplicitPadding };
}

export function windowPadding(padding: Padding, input: Shape3, size: readonly [number, number], strides: readonly [number, number], opts: { pool?: boolean; value?: string } = {}): WindowPadding {
  const p = resolvePads(padding, input, size, strides);
  const fitsPool = !opts.pool || (p.top <= size[0] / 2 && p.left <= size[1] / 2);
  if (isSymmetric(p) && fitsPool) {
    return { native: pyTuple([p.top, p.left]), apply: (x) => x, explicit: false, moduleView: { input: [input[0], input[1]], pads: p } };
  }
  const value = opts.value ? `, value=${opts.value}` : '';
  return {
    native: '0',
    apply: (x) => `F.pad(${x}, ${pyTuple([p.left, p.right, p.top, p.bottom])}${value})`, explicit: true,
    moduleView: { input: [input[0] + p.top + p.bottom, input[1] + p.left + p.right], pads: { top: 0, bottom: 0, left: 0, right: 0 } },
  };
}
