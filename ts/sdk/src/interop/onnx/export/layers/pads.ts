import type { ExplicitPadding } from '../../../../layers/shape.js';

/** ONNX's `pads` of a 2-D window op: `[top, left, bottom, right]` (all begins, then all ends). */
export function onnxPads(p: ExplicitPadding): number[] {
  return [p.top, p.left, p.bottom, p.right];
}
