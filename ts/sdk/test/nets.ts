/** The two reference networks, built with the public API. */
import { BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D, ReLU, Sequential, type Engine, type InitializerArg, type L2Regularizer } from '@lite-cnn/sdk';

export function mnistNet(opts: { seed?: number; engine?: Engine; init?: InitializerArg } = {}): Sequential {
  const init = opts.init ? { kernelInitializer: opts.init } : {};
  return new Sequential(
    [
      new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', inputShape: [28, 28, 1], ...init }),
      new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', ...init }),
      new Flatten(),
      new Dense({ units: 10, activation: 'softmax' }),
    ],
    { name: 'mnist', ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.engine ? { engine: opts.engine } : {}) },
  );
}

export function breakhisNet(opts: { seed?: number; engine?: Engine; l2?: L2Regularizer; size?: number } = {}): Sequential {
  const reg = opts.l2 ? { kernelRegularizer: opts.l2 } : {};
  const size = opts.size ?? 224;
  return new Sequential(
    [
      new Conv2D({ filters: 16, kernelSize: 3, strides: 4, inputShape: [size, size, 3], ...reg }),
      new BatchNormalization(),
      new ReLU(),
      new Conv2D({ filters: 32, kernelSize: 3, strides: 2, ...reg }),
      new BatchNormalization(),
      new ReLU(),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, strides: 2, ...reg }),
      new BatchNormalization(),
      new ReLU(),
      new Flatten(),
      new Dense({ units: 128, activation: 'relu', ...reg }),
      new Dense({ units: 2, activation: 'softmax', ...reg }),
    ],
    { name: 'breakhis', ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.engine ? { engine: opts.engine } : {}) },
  );
}
