/**
 * VGG16 with torchvision's exact structure (no BatchNorm): 138,357,544
 * trainable parameters at 1000 classes. torchvision's adaptive average pool
 * to 7x7 is the identity at 224x224 inputs, the size this head is built
 * for; other sizes keep their own feature-map size (the first Dense then has
 * a different input size). Flatten is NHWC here and CHW in PyTorch: the
 * first classifier kernel's rows are permuted when weights move across.
 */
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { MaxPooling2D } from '../layers/pooling.js';
import { Dropout, Flatten } from '../layers/reshape-layers.js';
import { input } from '../layers/symbolic.js';
import { GlobalAveragePooling2D } from '../layers/pooling.js';
import { Model } from '../model/model.js';
import { resolveApplicationArgs, type ApplicationArgs } from './common.js';

/** Filters per convolution; 'M' is a 2x2 max pool. */
const CONFIG_D: readonly (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

/** torchvision's `vgg16` (features.N, classifier.0/3/6 with ReLU and Dropout(0.5) between). */
export function vgg16(args: ApplicationArgs = {}): Model {
  const a = resolveApplicationArgs(args, 'vgg16');
  const x = input({ shape: a.inputShape });
  let y = x;
  let index = 0;
  for (const v of CONFIG_D) {
    if (v === 'M') {
      y = new MaxPooling2D({ name: `features.${index++}`, poolSize: 2, strides: 2 }).apply(y);
    } else {
      y = new Conv2D({ name: `features.${index++}`, filters: v, kernelSize: 3, padding: 1, activation: 'relu' }).apply(y);
      index++; // torchvision's ReLU module, fused into the convolution here
    }
  }
  if (a.includeTop) {
    y = new Flatten({ name: 'flatten' }).apply(y);
    y = new Dense({ name: 'classifier.0', units: 4096, activation: 'relu' }).apply(y);
    y = new Dropout({ name: 'classifier.2', rate: 0.5 }).apply(y);
    y = new Dense({ name: 'classifier.3', units: 4096, activation: 'relu' }).apply(y);
    y = new Dropout({ name: 'classifier.5', rate: 0.5 }).apply(y);
    y = new Dense({ name: 'classifier.6', units: a.classes, activation: a.classifierActivation }).apply(y);
  } else if (a.pooling === 'avg') {
    y = new GlobalAveragePooling2D({ name: 'avgpool' }).apply(y);
  }
  return new Model({ inputs: x, outputs: y, ...a.options });
}
