// Floating-point work of the reference nets' layers for benches/step.mjs:
// 2 flop per multiply-add of the convolutions and Dense layers (BatchNorm,
// ReLU, pooling, the loss and Adam are not counted: they are memory-bound and
// their flops are a rounding error next to these).
import { StepKind } from '@lite-cnn/sdk';

/** Multiply-adds of each layer's forward pass over `batch` samples of `model` (0 for uncounted layers). */
export function layerMacs(model, layers, batch) {
  const input = (k) => (k === 0 ? model.inputShape : model.stepShape(k - 1));
  return layers.map((l, k) => {
    const [h, w, c] = model.stepShape(k);
    const inSize = input(k).reduce((a, b) => a * b, 1);
    if (l.kind === StepKind.CONV2D) return batch * h * w * c * l.sizeH * l.sizeW * input(k)[2];
    if (l.kind === StepKind.DENSE) return batch * inSize * l.units;
    return 0;
  });
}

/**
 * Flop of each layer's passes: `fwd` = 2·macs; `bwd` = input and weight
 * gradients, 4·macs, except layer 0, whose input gradient a training step
 * skips (2·macs, its weight gradient); and the whole step's total.
 */
export function layerFlops(macs) {
  const fwd = macs.map((m) => 2 * m);
  const bwd = macs.map((m, k) => (k === 0 ? 2 : 4) * m);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return { fwd, bwd, step: sum(fwd) + sum(bwd) };
}
