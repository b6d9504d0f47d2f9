/**
 * ResNet-18 and ResNet-50 with torchvision's exact structure (v1.5: the
 * bottleneck's stride sits on its 3x3 convolution): 11,689,512 and
 * 25,557,032 trainable parameters at 1000 classes.
 */
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { ReLU } from '../layers/activation-layers.js';
import { Add } from '../layers/merge.js';
import { GlobalAveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { input, type SymbolicTensor } from '../layers/symbolic.js';
import { Model } from '../model/model.js';
import { resolveApplicationArgs, torchBatchNorm, type ApplicationArgs } from './common.js';

function conv(name: string, filters: number, kernelSize: number, strides: number, padding: number): Conv2D {
  return new Conv2D({ name, filters, kernelSize, strides, padding, useBias: false });
}

/** conv → BN (→ ReLU), torchvision's `convN` / `bnN` names. */
function convBn(x: SymbolicTensor, prefix: string, n: number, filters: number, kernelSize: number, strides: number, relu: boolean): SymbolicTensor {
  const y = torchBatchNorm(`${prefix}bn${n}`).apply(conv(`${prefix}conv${n}`, filters, kernelSize, strides, (kernelSize - 1) / 2).apply(x));
  return relu ? new ReLU({ name: `${prefix}relu${n}` }).apply(y) : y;
}

/** The shortcut: identity, or a strided 1x1 convolution and BN (`downsample.0`, `downsample.1`). */
function shortcut(x: SymbolicTensor, prefix: string, filters: number, strides: number): SymbolicTensor {
  if (strides === 1 && x.shape[2] === filters) return x;
  return torchBatchNorm(`${prefix}downsample.1`).apply(conv(`${prefix}downsample.0`, filters, 1, strides, 0).apply(x));
}

function basicBlock(x: SymbolicTensor, prefix: string, planes: number, strides: number): SymbolicTensor {
  const y = convBn(convBn(x, prefix, 1, planes, 3, strides, true), prefix, 2, planes, 3, 1, false);
  return new ReLU({ name: `${prefix}relu` }).apply(new Add({ name: `${prefix}add` }).apply([y, shortcut(x, prefix, planes, strides)]));
}

function bottleneck(x: SymbolicTensor, prefix: string, planes: number, strides: number): SymbolicTensor {
  let y = convBn(x, prefix, 1, planes, 1, 1, true);
  y = convBn(y, prefix, 2, planes, 3, strides, true);
  y = convBn(y, prefix, 3, planes * 4, 1, 1, false);
  return new ReLU({ name: `${prefix}relu` }).apply(new Add({ name: `${prefix}add` }).apply([y, shortcut(x, prefix, planes * 4, strides)]));
}

function resnet(name: string, block: typeof basicBlock, blocks: readonly number[], args: ApplicationArgs): Model {
  const a = resolveApplicationArgs(args, name);
  const x = input({ shape: a.inputShape });
  let y = new ReLU({ name: 'relu' }).apply(torchBatchNorm('bn1').apply(conv('conv1', 64, 7, 2, 3).apply(x)));
  y = new MaxPooling2D({ name: 'maxpool', poolSize: 3, strides: 2, padding: 1 }).apply(y);
  blocks.forEach((count, stage) => {
    const planes = 64 * 2 ** stage;
    for (let b = 0; b < count; b++) y = block(y, `layer${stage + 1}.${b}.`, planes, b === 0 && stage > 0 ? 2 : 1);
  });
  if (a.includeTop || a.pooling === 'avg') y = new GlobalAveragePooling2D({ name: 'avgpool' }).apply(y);
  if (a.includeTop) y = new Dense({ name: 'fc', units: a.classes, activation: a.classifierActivation }).apply(y);
  return new Model({ inputs: x, outputs: y, ...a.options });
}

/** torchvision's `resnet18`: BasicBlocks [2, 2, 2, 2]. */
export function resnet18(args: ApplicationArgs = {}): Model {
  return resnet('resnet18', basicBlock, [2, 2, 2, 2], args);
}

/** torchvision's `resnet50`: Bottlenecks [3, 4, 6, 3]. */
export function resnet50(args: ApplicationArgs = {}): Model {
  return resnet('resnet50', bottleneck, [3, 4, 6, 3], args);
}
