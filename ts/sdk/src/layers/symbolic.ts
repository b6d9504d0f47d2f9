/**
 * Symbolic tensors of the functional API (Keras' `keras.Input` and the
 * tensors `layer(x)` returns): a per-sample shape and where it comes from.
 * They hold no data; `new Model({ inputs, outputs })` follows them back to
 * find the graph.
 */
import { normalizeInputShape, type Shape3 } from './shape.js';
import { ConfigError } from '../errors.js';

/** The layer that produced a symbolic tensor and what it read. */
export interface SymbolicNode {
  /** A `Layer` (typed loosely here to keep this module free of the layer classes). */
  layer: { readonly name: string; readonly kind: string };
  inputs: readonly SymbolicTensor[];
}

export class SymbolicTensor {
  /**
   * @param shape per-sample shape `[h, w, c]` (NHWC without the batch)
   * @param node the producing layer, or null for a model input
   */
  constructor(
    readonly shape: Shape3,
    readonly node: SymbolicNode | null,
    readonly name = '',
  ) {}
}

export interface InputArgs {
  /** Per-sample shape: `[h, w, c]` (NHWC), `[h, w]` (one channel) or `[features]`. */
  shape: readonly number[];
  name?: string;
}

/** A model input (Keras' `keras.Input(shape)`). */
export function input(args: InputArgs): SymbolicTensor {
  const where = `input${args.name ? ` '${args.name}'` : ''}`;
  const shape = normalizeInputShape(args.shape, where);
  if (!shape) throw new ConfigError(`${where}: shape is required ([h, w, c], [h, w] or [features])`);
  return new SymbolicTensor(shape, null, args.name ?? 'input');
}
