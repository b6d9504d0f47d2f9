/**
 * MobileNetV2 with torchvision's exact structure (width 1.0): 3,504,872
 * trainable parameters at 1000 classes. Layer names are torchvision's
 * module paths (`features.2.conv.1.0`).
 */
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { DepthwiseConv2D } from '../layers/depthwise-conv2d.js';
import { ReLU } from '../layers/activation-layers.js';
import { Add } from '../layers/merge.js';
import { GlobalAveragePooling2D } from '../layers/pooling.js';
import { Dropout } from '../layers/reshape-layers.js';
import { input, type SymbolicTensor } from '../layers/symbolic.js';
import { Model } from '../model/model.js';
import { resolveApplicationArgs, torchBatchNorm, type ApplicationArgs } from './common.js';

/** (expansion t, output channels c, repeats n, first stride s), as in the paper and torchvision. */
const SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** torchvision's `Conv2dNormActivation`: conv (no bias) → BN → ReLU6, named `<prefix>.0`, `.1`, `.2`. */
function convBnRelu6(x: SymbolicTensor, prefix: string, filters: number, kernelSize: number, strides: number, depthwise = false): SymbolicTensor {
  const padding = (kernelSize - 1) / 2;
  const conv = depthwise
    ? new DepthwiseConv2D({ name: `${prefix}.0`, kernelSize, strides, padding, useBias: false })
    : new Conv2D({ name: `${prefix}.0`, filters, kernelSize, strides, padding, useBias: false });
  return new ReLU({ name: `${prefix}.2`, maxValue: 6 }).apply(torchBatchNorm(`${prefix}.1`).apply(conv.apply(x)));
}

function invertedResidual(x: SymbolicTensor, prefix: string, expansion: number, out: number, strides: number): SymbolicTensor {
  const inp = x.shape[2];
  const hidden = inp * expansion;
  let y = x;
  let j = 0;
  if (expansion !== 1) y = convBnRelu6(y, `${prefix}.conv.${j++}`, hidden, 1, 1);
  y = convBnRelu6(y, `${prefix}.conv.${j++}`, hidden, 3, strides, true);
  y = new Conv2D({ name: `${prefix}.conv.${j++}`, filters: out, kernelSize: 1, useBias: false }).apply(y);
  y = torchBatchNorm(`${prefix}.conv.${j}`).apply(y);
  return strides === 1 && inp === out ? new Add({ name: `${prefix}.add` }).apply([x, y]) : y;
}

/** torchvision's `mobilenet_v2` (classifier: Dropout(0.2) and Linear). */
export function mobilenetV2(args: ApplicationArgs = {}): Model {
  const a = resolveApplicationArgs(args, 'mobilenetV2');
  const x = input({ shape: a.inputShape });
  let y = convBnRelu6(x, 'features.0', 32, 3, 2);
  let block = 1;
  for (const [t, c, n, s] of SETTINGS) {
    for (let i = 0; i < n; i++) y = invertedResidual(y, `features.${block++}`, t, c, i === 0 ? s : 1);
  }
  y = convBnRelu6(y, `features.${block}`, 1280, 1, 1);
  if (a.includeTop || a.pooling === 'avg') y = new GlobalAveragePooling2D({ name: 'avgpool' }).apply(y);
  if (a.includeTop) {
    y = new Dropout({ name: 'classifier.0', rate: 0.2 }).apply(y);
    y = new Dense({ name: 'classifier.1', units: a.classes, activation: a.classifierActivation }).apply(y);
  }
  return new Model({ inputs: x, outputs: y, ...a.options });
}
