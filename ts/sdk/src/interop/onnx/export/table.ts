/**
 * The exporter table: every layer kind and the module that turns it into
 * ONNX nodes. Typed exhaustively, so a new layer kind does not compile until
 * it has a row here.
 */
import type { LayerConfig } from '../../../layers/config.js';
import type { LayerExporter } from './layer-context.js';
import { activationLayer } from './layers/activation.js';
import { batchNormalization } from './layers/batch-norm.js';
import { convolution } from './layers/conv.js';
import { dense } from './layers/dense.js';
import { add, average, concatenate, multiply } from './layers/merge.js';
import { globalAveragePooling2d, pooling2d } from './layers/pooling.js';
import { dropout, flatten, zeroPadding2d } from './layers/reshape.js';

type ExporterTable = { [K in LayerConfig['kind']]: LayerExporter<LayerConfig & { kind: K }> };

export const ONNX_EXPORTERS: ExporterTable = {
  Conv2D: convolution,
  DepthwiseConv2D: convolution,
  Dense: dense,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: activationLayer,
  LeakyReLU: activationLayer,
  Softmax: activationLayer,
  MaxPooling2D: pooling2d,
  AveragePooling2D: pooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  Flatten: flatten,
  Dropout: dropout,
  ZeroPadding2D: zeroPadding2d,
  Add: add,
  Average: average,
  Multiply: multiply,
  Concatenate: concatenate,
};
