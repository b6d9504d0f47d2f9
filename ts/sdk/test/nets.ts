/** The two reference networks (the SDK's presets) as models for the tests. */
import { breakhisNetLayers, mnistNetLayers, Sequential, type Engine, type L2Regularizer } from '@lite-cnn/sdk';

export function mnistNet(opts: { seed?: number; engine?: Engine } = {}): Sequential {
  return new Sequential(mnistNetLayers(), {
    name: 'mnist',
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.engine ? { engine: opts.engine } : {}),
  });
}

export function breakhisNet(opts: { seed?: number; engine?: Engine; l2?: L2Regularizer; size?: number } = {}): Sequential {
  return new Sequential(
    breakhisNetLayers({ ...(opts.l2 ? { kernelRegularizer: opts.l2 } : {}), ...(opts.size !== undefined ? { inputSize: opts.size } : {}) }),
    { name: 'breakhis', ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.engine ? { engine: opts.engine } : {}) },
  );
}
