/** The study's MNIST net as an executor description, plus a seeded initialisation. */
import { StepKind, type CompiledModel, type StepDescription } from '@lite-cnn/sdk';

export const mnistLayers: StepDescription[] = [
  { kind: StepKind.CONV2D, units: 8, sizeH: 3, sizeW: 3, strideH: 2, strideW: 2, useBias: 1 },
  { kind: StepKind.RELU },
  { kind: StepKind.CONV2D, units: 8, sizeH: 3, sizeW: 3, strideH: 2, strideW: 2, useBias: 1 },
  { kind: StepKind.RELU },
  { kind: StepKind.FLATTEN },
  { kind: StepKind.DENSE, units: 10, useBias: 1 },
  { kind: StepKind.SOFTMAX },
];

/** Glorot-uniform kernels (Keras' default), zero biases; stream = tensor index. */
export function glorotInit(model: CompiledModel, seed: number): void {
  model.tensors.forEach((t, i) => {
    if (t.role === 'kernel') {
      const [fanIn, fanOut] = fans(model, t.step, t.length);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      model.fillRandom(t, 'uniform', -limit, limit, seed, i);
    } else {
      model.tensor(t).fill(t.role === 'gamma' || t.role === 'movingVariance' ? 1 : 0);
    }
  });
}

function fans(model: CompiledModel, layer: number, length: number): [number, number] {
  const out = model.stepShape(layer)[2];
  return [length / out, out];
}
