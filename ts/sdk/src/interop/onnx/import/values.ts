/**
 * What an ONNX value name stands for during the import: a tensor the model
 * computes (a symbolic tensor of lite-cnn's NHWC graph, with how its ONNX
 * axes map onto it), a constant (initializer or Constant node), or an output
 * lite-cnn does not compute (MaxPool's indices, a Dropout mask).
 */
import type { SymbolicTensor } from '../../../layers/symbolic.js';
import type { FlatOrder } from '../../layouts.js';
import type { Constant } from './tensors.js';

export interface TensorValue {
  readonly kind: 'tensor';
  readonly tensor: SymbolicTensor;
  /**
   * ONNX rank: 4 is `[n, c, h, w]` (or `[n, h, w, c]` with layout 'nhwc': an
   * NHWC graph input, or a value a Transpose(0, 2, 3, 1) made, as lite-cnn's
   * own exports have before a Flatten), which lite-cnn holds as `[h, w, c]`
   * either way; 2 is `[n, features]`, held as `[1, 1, features]`.
   */
  readonly rank: 2 | 4;
  readonly layout: 'nchw' | 'nhwc';
  /** For rank 2: the pending NCHW → NHWC feature order of a flattened `[c, h, w]` tensor, or null when the orders agree. */
  readonly flatOrder: FlatOrder | null;
}

export interface ConstantValue {
  readonly kind: 'constant';
  readonly constant: Constant;
}

export interface UnavailableValue {
  readonly kind: 'unavailable';
  /** Why no node may read it, e.g. "MaxPool's indices output". */
  readonly reason: string;
}

export type Value = TensorValue | ConstantValue | UnavailableValue;

/** The same ONNX meaning (rank, layout, feature order) on another symbolic tensor: elementwise ops keep it. */
export function sameLayout(like: TensorValue, tensor: SymbolicTensor): TensorValue {
  return { ...like, tensor };
}
