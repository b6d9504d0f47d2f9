/**
 * A small graph network with every graph layer: a residual block, a
 * depthwise branch with ReLU6, zero padding, ceil-mode max pooling and a
 * channel concatenation (tests/fixtures/torch/make_graph_fixture.py builds
 * the same network in PyTorch).
 */
import { Add, BatchNormalization, Concatenate, Conv2D, Dense, DepthwiseConv2D, GlobalAveragePooling2D, input, MaxPooling2D, Model, ReLU, ZeroPadding2D, type Engine } from '@lite-cnn/sdk';

export function graphNet(opts: { seed?: number; engine?: Engine; activation?: 'softmax' | 'linear' } = {}): Model {
  const x = input({ shape: [12, 12, 3] });
  const stem = new ReLU().apply(new BatchNormalization().apply(new Conv2D({ filters: 8, kernelSize: 3, padding: 1, useBias: false }).apply(x)));
  const branch = new Conv2D({ filters: 8, kernelSize: 3, padding: 'same' }).apply(stem);
  const residual = new ReLU().apply(new Add().apply([branch, stem]));
  const dw = new ReLU({ maxValue: 6 }).apply(new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 1, depthMultiplier: 2 }).apply(residual));
  const pooled = new MaxPooling2D({ poolSize: 3, strides: 2, ceilMode: true }).apply(new ZeroPadding2D({ padding: [[0, 1], [0, 1]] }).apply(residual));
  const joined = new Concatenate().apply([dw, pooled]);
  const out = new Dense({ units: 3, activation: opts.activation ?? 'softmax' }).apply(new GlobalAveragePooling2D().apply(joined));
  return new Model({ inputs: x, outputs: out, seed: opts.seed ?? 0, ...(opts.engine ? { engine: opts.engine } : {}) });
}
