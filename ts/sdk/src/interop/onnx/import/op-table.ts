/**
 * The importer's op table: ONNX op type → how its node becomes lite-cnn
 * layers, one module per op family under ops/.
 */
import type { OpTable } from './op-row.js';
import { activationOps, fusedActivationOps } from './ops/activation.js';
import { constantOps } from './ops/constant.js';
import { convOps } from './ops/conv.js';
import { denseOps } from './ops/dense.js';
import { mergeOps } from './ops/merge.js';
import { normalizationOps } from './ops/normalization.js';
import { poolOps } from './ops/pool.js';
import { shapeOps } from './ops/shape.js';

const ONNX_OPS: OpTable = {
  ...convOps,
  ...poolOps,
  ...activationOps,
  ...denseOps,
  ...mergeOps,
  ...normalizationOps,
  ...shapeOps,
  ...constantOps,
};

/** The ONNX op types, and the node patterns fuse.ts replaces by one node (not listed as supported ops). */
export const OP_TABLE: OpTable = { ...ONNX_OPS, ...fusedActivationOps };

/** The ONNX op types that import (fused patterns are made of these: fuse.ts). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(ONNX_OPS).sort();
