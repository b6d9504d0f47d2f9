/**
 * The importer's op table: ONNX op type → how its node becomes lite-cnn
 * layers, one module per op family under ops/.
 */
import type { OpTable } from './op-row.js';
import { activationOps } from './ops/activation.js';
import { constantOps } from './ops/constant.js';
import { convOps } from './ops/conv.js';
import { denseOps } from './ops/dense.js';
import { mergeOps } from './ops/merge.js';
import { normalizationOps } from './ops/normalization.js';
import { poolOps } from './ops/pool.js';
import { shapeOps } from './ops/shape.js';

export const OP_TABLE: OpTable = {
  ...convOps,
  ...poolOps,
  ...activationOps,
  ...denseOps,
  ...mergeOps,
  ...normalizationOps,
  ...shapeOps,
  ...constantOps,
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(OP_TABLE).sort();
