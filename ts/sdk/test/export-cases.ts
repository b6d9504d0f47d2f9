/**
 * The models both exporters are tested on: one row per layer kind and
 * variant of the exporter tables (valid/same/asymmetric pads, ceil mode,
 * count_include_pad, fused activations, flat and spatial BatchNorm, NHWC
 * Flatten order, ...), then the study's nets, the graph net and two
 * torchvision architectures at a small input.
 */
import {
  Activation, Add, applications, Average, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, DepthwiseConv2D, Dropout, Flatten,
  GlobalAveragePooling2D, input, LeakyReLU, MaxPooling2D, Model, Multiply, ReLU, Softmax, ZeroPadding2D, type AnyLayer, type Engine, type Shape3,
} from '@lite-cnn/sdk';
import { graphNet } from './graph-net.js';
import { breakhisNet, mnistNet } from './nets.js';

export interface ExportCase {
  name: string;
  build(engine: Engine): Model;
  /** Whether the torch side also takes a training step (the nets). */
  train?: boolean;
}

const chain = (name: string, shape: Shape3 | [number], layers: () => AnyLayer[]): ExportCase => ({
  name,
  build: (engine) => {
    // A functional input, so any layer can start a row. `predict` returns flat outputs, so a row
    // that ends spatial gets a Flatten (NHWC order: it checks the layout of the row's output too).
    const x = input({ shape });
    const y = layers().reduce((v, l) => l.apply(v), x);
    if (y.shape[0] !== 1 || y.shape[1] !== 1) return new Model({ inputs: x, outputs: new Flatten().apply(y), name, seed: 3, engine });
    return new Model({ inputs: x, outputs: y, name, seed: 3, engine });
  },
});

/** `x → a, x → b, merge([a, b, ...])`: the merge layers' rows. */
const merged = (name: string, merge: () => AnyLayer, branches: (() => AnyLayer[])[]): ExportCase => ({
  name,
  build: (engine) => {
    const x = input({ shape: [6, 5, 3] });
    const outs = branches.map((b) => b().reduce((y, l) => l.apply(y), x));
    return new Model({ inputs: x, outputs: new Dense({ units: 4, activation: 'softmax' }).apply(new Flatten().apply(merge().apply(outs))), name, seed: 3, engine });
  },
});

/** A squeeze-and-excitation gate (MobileNetV3's: pool, 1x1 convolutions, hard sigmoid, the gate first as torchvision writes it) and a same-shape Multiply. */
const squeezeExcitation: ExportCase = {
  name: 'multiply-squeeze-excitation',
  build: (engine) => {
    const x = input({ shape: [6, 5, 3] });
    const map = new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
    const squeezed = new Conv2D({ filters: 2, kernelSize: 1, activation: 'relu' }).apply(new GlobalAveragePooling2D().apply(map));
    const gate = new Conv2D({ filters: 4, kernelSize: 1, activation: 'hardSigmoid' }).apply(squeezed);
    const scaled = new Multiply().apply([gate, map]);
    const product = new Multiply().apply([scaled, new Activation({ activation: 'tanh' }).apply(scaled)]);
    const out = new Dense({ units: 3, activation: 'softmax' }).apply(new Flatten().apply(product));
    return new Model({ inputs: x, outputs: out, name: 'multiply-squeeze-excitation', seed: 3, engine });
  },
};

export const LAYER_CASES: ExportCase[] = [
  squeezeExcitation,
  chain('conv2d-valid-relu', [7, 6, 3], () => [new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu' })]),
  chain('conv2d-same-stride2-nobias', [7, 6, 3], () => [new Conv2D({ filters: 5, kernelSize: [3, 2], strides: 2, padding: 'same', useBias: false })]),
  chain('conv2d-asymmetric-leaky', [7, 6, 2], () => [new Conv2D({ filters: 3, kernelSize: 3, strides: [2, 1], padding: [[1, 0], [2, 1]], activation: 'leakyRelu' })]),
  chain('depthwise-multiplier-relu6', [6, 6, 3], () => [new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' })]),
  chain('depthwise-explicit-sigmoid', [5, 6, 4], () => [new DepthwiseConv2D({ kernelSize: [2, 3], padding: 1, activation: 'sigmoid' })]),
  chain('dense-flat-input', [10], () => [new Dense({ units: 6, activation: 'sigmoid' }), new Dense({ units: 3, useBias: false })]),
  chain('batchnorm-spatial', [4, 5, 3], () => [new BatchNormalization({ epsilon: 1e-3 })]),
  chain('batchnorm-flat', [8], () => [new Dense({ units: 5 }), new BatchNormalization({ epsilon: 1e-5 }), new Softmax()]),
  chain('batchnorm-after-flatten', [4, 3, 2], () => [new Flatten(), new BatchNormalization(), new Dense({ units: 3 })]),
  chain('relu-max-value', [4, 4, 2], () => [new ReLU({ maxValue: 0.3 })]),
  chain('relu-leaky-sigmoid', [4, 4, 2], () => [new ReLU(), new LeakyReLU({ alpha: 0.1 }), new Activation({ activation: 'sigmoid' })]),
  // Pre-activations stay mostly inside (-3, 3) here, where a hard sigmoid of slope 0.2 (Keras 2) would
  // already differ; the flat parts beyond ±3 are checked against the f64 reference in the kernel tests.
  chain('tanh-swish-hard-activations', [5, 4, 2], () => [
    new Conv2D({ filters: 4, kernelSize: 2, activation: 'tanh' }), new Activation({ activation: 'swish' }),
    new Conv2D({ filters: 3, kernelSize: 2, padding: 'same', activation: 'hardSwish' }), new Activation({ activation: 'hardSigmoid' }),
  ]),
  chain('softmax-layer', [6], () => [new Dense({ units: 4 }), new Softmax()]),
  chain('maxpool-ceil-padded', [7, 7, 2], () => [new MaxPooling2D({ poolSize: 3, strides: 2, padding: 1, ceilMode: true })]),
  chain('maxpool-same', [5, 7, 2], () => [new MaxPooling2D({ poolSize: 2, padding: 'same' })]),
  chain('avgpool-count-include-pad', [6, 5, 2], () => [new AveragePooling2D({ poolSize: 3, strides: 2, padding: 1, countIncludePad: true })]),
  chain('avgpool-exclude-pad-ceil', [6, 5, 2], () => [new AveragePooling2D({ poolSize: 3, strides: 2, padding: 1, ceilMode: true })]),
  chain('avgpool-same', [5, 5, 2], () => [new AveragePooling2D({ poolSize: 2, padding: 'same' })]),
  chain('global-average-pooling', [5, 4, 3], () => [new GlobalAveragePooling2D(), new Dense({ units: 2 })]),
  chain('flatten-nhwc-order', [3, 4, 5], () => [new Conv2D({ filters: 6, kernelSize: 1 }), new Flatten(), new Dense({ units: 4, activation: 'softmax' })]),
  chain('dropout-identity', [3, 3, 2], () => [new Dropout({ rate: 0.5 }), new Flatten(), new Dropout({ rate: 0.2 }), new Dense({ units: 2 })]),
  chain('zero-padding-asymmetric', [4, 3, 2], () => [new ZeroPadding2D({ padding: [[1, 2], [0, 3]] }), new Conv2D({ filters: 2, kernelSize: 2 })]),
  // Names both formats reserve or cannot take as they are (ONNX's graph input/output, Python's `x`, `self`, dots).
  chain('awkward-layer-names', [4, 4, 2], () => [
    new Conv2D({ name: 'input', filters: 2, kernelSize: 1 }),
    new Conv2D({ name: 'layer1.0.conv1', filters: 2, kernelSize: 1 }),
    new BatchNormalization({ name: 'self' }),
    new ReLU({ name: 'x' }),
    new Flatten({ name: 'forward' }),
    new Dense({ name: 'output', units: 2 }),
  ]),
  merged('add-three-inputs', () => new Add(), [
    () => [new Conv2D({ filters: 4, kernelSize: 1 })],
    () => [new Conv2D({ filters: 4, kernelSize: 3, padding: 'same' })],
    () => [new Conv2D({ filters: 4, kernelSize: 1, useBias: false }), new ReLU()],
  ]),
  merged('average-three-inputs', () => new Average(), [
    () => [new Conv2D({ filters: 3, kernelSize: 1 })],
    () => [new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' })],
    () => [new Conv2D({ filters: 3, kernelSize: 1, useBias: false })],
  ]),
  merged('concatenate', () => new Concatenate(), [() => [new Conv2D({ filters: 2, kernelSize: 1 })], () => [new MaxPooling2D({ poolSize: 3, strides: 1, padding: 1 })]]),
];

export const NET_CASES: ExportCase[] = [
  { name: 'mnist', build: (engine) => mnistNet({ seed: 1, engine }), train: true },
  { name: 'breakhis', build: (engine) => breakhisNet({ seed: 1, engine }), train: true },
  { name: 'graph-net', build: (engine) => graphNet({ seed: 1, engine }), train: true },
  { name: 'resnet18', build: (engine) => applications.resnet18({ inputShape: [32, 32, 3], classes: 5, engine, seed: 1 }) },
  { name: 'mobilenet-v2', build: (engine) => applications.mobilenetV2({ inputShape: [32, 32, 3], classes: 5, engine, seed: 1 }) },
];
