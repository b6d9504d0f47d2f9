/**
 * The mapping from a model's tensors to torchvision `state_dict` keys: a
 * layer named like a torchvision module (`layer1.0.conv1`) holds that
 * module's parameters. Conv2D kernels are `[kh, kw, in, out]` here and
 * `[out, in, kh, kw]` in PyTorch; DepthwiseConv2D `[kh, kw, c, m]` and
 * `[c·m, 1, kh, kw]`; Dense `[in, out]` and `[out, in]`.
 */
import type { Model } from '../model/model.js';

export interface TorchvisionKey {
  /** The lite-cnn tensor name, e.g. `layers.4.kernel`. */
  tensor: string;
  /** The torchvision `state_dict` key, e.g. `layer1.0.conv1.weight`. */
  key: string;
  /** How the values move: PyTorch layout from ours. */
  layout: 'conv' | 'depthwise' | 'dense' | 'vector';
}

const suffix: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  movingMean: 'running_mean',
  movingVariance: 'running_var',
};

/** Every tensor of `model` with its torchvision key and layout. */
export function torchvisionKeys(model: Model): TorchvisionKey[] {
  const layers = model.layers;
  return model.plan().tensors.map((t) => {
    const layer = layers[t.layer]!;
    const layout = t.role !== 'kernel' ? 'vector' : layer.kind === 'Dense' ? 'dense' : layer.kind === 'DepthwiseConv2D' ? 'depthwise' : 'conv';
    return { tensor: t.name, key: `${layer.name}.${suffix[t.role]}`, layout };
  });
}
