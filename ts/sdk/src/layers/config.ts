/**
 * The stored form of every layer, as one discriminated union, and the
 * exhaustive way back from a config to a layer.
 */
import { ModelFormatError } from '../errors.js';
import { activationLayerFromConfig, type ActivationConfig } from './activation-layers.js';
import { BatchNormalization, type BatchNormalizationConfig } from './batch-normalization.js';
import { Conv2D, type Conv2DConfig } from './conv2d.js';
import { Dense, type DenseConfig } from './dense.js';
import type { Layer } from './layer.js';
import { GlobalAveragePooling2D, poolingFromConfig, type GlobalAveragePooling2DConfig, type Pooling2DConfig } from './pooling.js';
import { Dropout, Flatten, type DropoutConfig, type FlattenConfig } from './reshape-layers.js';
import { DepthwiseConv2D, type DepthwiseConv2DConfig } from './depthwise-conv2d.js';
import { Add, Average, Concatenate, Multiply, type AddConfig, type AverageConfig, type ConcatenateConfig, type MultiplyConfig } from './merge.js';
import { ZeroPadding2D, type ZeroPadding2DConfig } from './zero-padding.js';

export type LayerConfig =
  | Conv2DConfig
  | DenseConfig
  | BatchNormalizationConfig
  | ActivationConfig
  | Pooling2DConfig
  | GlobalAveragePooling2DConfig
  | FlattenConfig
  | DropoutConfig
  | DepthwiseConv2DConfig
  | AddConfig
  | AverageConfig
  | MultiplyConfig
  | ConcatenateConfig
  | ZeroPadding2DConfig;

export type AnyLayer = Layer<LayerConfig>;

export function layerFromConfig(config: LayerConfig): AnyLayer {
  const common = { name: config.name, ...(config.inputShape ? { inputShape: config.inputShape } : {}) };
  switch (config.kind) {
    case 'Conv2D':
      return Conv2D.fromConfig(config);
    case 'Dense':
      return Dense.fromConfig(config);
    case 'BatchNormalization':
      return BatchNormalization.fromConfig(config);
    case 'Activation':
    case 'ReLU':
    case 'LeakyReLU':
    case 'Softmax':
      return activationLayerFromConfig(config);
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return poolingFromConfig(config);
    case 'GlobalAveragePooling2D':
      return new GlobalAveragePooling2D(common);
    case 'Flatten':
      return new Flatten(common);
    case 'Dropout':
      return new Dropout({ ...common, rate: config.rate });
    case 'DepthwiseConv2D':
      return DepthwiseConv2D.fromConfig(config);
    case 'Add':
      return new Add({ name: config.name });
    case 'Average':
      return new Average({ name: config.name });
    case 'Multiply':
      return new Multiply({ name: config.name });
    case 'Concatenate':
      return new Concatenate({ name: config.name, axis: config.axis });
    case 'ZeroPadding2D':
      return ZeroPadding2D.fromConfig(config);
    default: {
      const unknown: never = config;
      throw new ModelFormatError(`unknown layer kind '${(unknown as { kind: string }).kind}'`);
    }
  }
}
