/**
 * The study's two reference networks, as ready-made layer lists (like Keras
 * applications): `new Sequential(mnistNetLayers())`.
 */
import { BatchNormalization } from './layers/batch-normalization.js';
import { Conv2D } from './layers/conv2d.js';
import type { AnyLayer } from './layers/config.js';
import { Dense } from './layers/dense.js';
import { MaxPooling2D } from './layers/pooling.js';
import { ReLU } from './layers/activation-layers.js';
import { Flatten } from './layers/reshape-layers.js';
import type { L2Regularizer } from './layers/regularizers.js';

/**
 * 28x28x1 → Conv(8, 3x3, s2, relu) → Conv(8, 3x3, s2, relu) → Flatten(288) → Dense(classes, softmax):
 * 3,554 parameters for MNIST's 10 classes (the default).
 */
export function mnistNetLayers(opts: { classes?: number } = {}): AnyLayer[] {
  return [
    new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', inputShape: [28, 28, 1] }),
    new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
    new Flatten(),
    new Dense({ units: opts.classes ?? 10, activation: 'softmax' }),
  ];
}

/**
 * 224x224x3 → Conv(16, 3x3, s4) BN ReLU → Conv(32, 3x3, s2) BN ReLU → MaxPool(2)
 * → Conv(64, 3x3, s2) BN ReLU → Flatten(2304) → Dense(128, relu) → Dense(classes, softmax):
 * exactly 319,106 trainable parameters for 2 classes. `kernelRegularizer` goes on every kernel
 * (the study used L2 0.1; see `l2` and `studyL2` for its two readings). `batchNormMomentum`
 * defaults to Keras' 0.99; PyTorch's default corresponds to 0.9, which settles the moving
 * statistics within the few hundred steps a BreakHis run has.
 */
export function breakhisNetLayers(
  opts: { kernelRegularizer?: L2Regularizer; classes?: number; inputSize?: number; batchNormMomentum?: number } = {},
): AnyLayer[] {
  const reg = opts.kernelRegularizer ? { kernelRegularizer: opts.kernelRegularizer } : {};
  const size = opts.inputSize ?? 224;
  const bn = () => new BatchNormalization(opts.batchNormMomentum === undefined ? {} : { momentum: opts.batchNormMomentum });
  return [
    new Conv2D({ filters: 16, kernelSize: 3, strides: 4, inputShape: [size, size, 3], ...reg }),
    bn(),
    new ReLU(),
    new Conv2D({ filters: 32, kernelSize: 3, strides: 2, ...reg }),
    bn(),
    new ReLU(),
    new MaxPooling2D({ poolSize: 2 }),
    new Conv2D({ filters: 64, kernelSize: 3, strides: 2, ...reg }),
    bn(),
    new ReLU(),
    new Flatten(),
    new Dense({ units: 128, activation: 'relu', ...reg }),
    new Dense({ units: opts.classes ?? 2, activation: 'softmax', ...reg }),
  ];
}
