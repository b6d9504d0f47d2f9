/**
 * What an op-table row sees of the import while it converts one node: its
 * attributes, its inputs as tensors or constants, and a way to add a layer
 * with the weights it gets once the model is built.
 */
import { LiteCnnError } from '../../../errors.js';
import type { TensorRole } from '../../../exec/compiled-model.js';
import type { AnyLayer } from '../../../layers/config.js';
import type { SymbolicTensor } from '../../../layers/symbolic.js';
import { Attributes } from './attributes.js';
import { nodeError } from './errors.js';
import type { GraphNode } from './graph.js';
import type { FloatConstant, IntConstant } from './tensors.js';
import type { TensorValue, Value } from './values.js';

export type LayerWeights = Partial<Record<TensorRole, Float32Array>>;

/** State shared by every node of one import. */
export interface ImportState {
  readonly values: Map<string, Value>;
  /** The weights each added layer receives after the model is built. */
  readonly weights: Map<AnyLayer, LayerWeights>;
  readonly usedNames: Set<string>;
  readonly opset: number;
  /** The graph input's batch dimension when the file fixes it (Reshape targets may name it), else null. */
  readonly batch: number | null;
}

export class NodeContext {
  readonly attrs: Attributes;

  constructor(
    readonly node: GraphNode,
    supportedAttributes: readonly string[],
    private readonly state: ImportState,
  ) {
    this.attrs = new Attributes(node, supportedAttributes);
  }

  get opset(): number {
    return this.state.opset;
  }

  get batch(): number | null {
    return this.state.batch;
  }

  /** An error naming this node. */
  error(message: string): Error {
    return nodeError(this.node, message);
  }

  /** How many inputs the node lists (omitted optional ones included). */
  get inputCount(): number {
    return this.node.inputs.length;
  }

  /**
   * Input `i` as a computed tensor in NCHW meaning (what every op expects),
   * or in either layout with `anyLayout` (ops whose result does not depend
   * on it: elementwise activations, Dropout, Identity, Transpose, Flatten,
   * Reshape).
   */
  tensor(i: number, opts: { anyLayout?: boolean } = {}): TensorValue {
    const v = this.value(i, 'a computed tensor');
    if (v.kind !== 'tensor') throw this.error(`input ${i} ('${this.node.inputs[i]}') must be a computed tensor, got a constant (constant-only subgraphs are not supported)`);
    if (v.rank === 4 && v.layout === 'nhwc' && !opts.anyLayout) {
      throw this.error(`input ${i} ('${this.node.inputs[i]}') is in NHWC layout; ${this.node.opType} reads NCHW here, so it needs a Transpose(perm=[0, 3, 1, 2]) first (only elementwise activations, Dropout, Identity, Transpose, Flatten and Reshape read NHWC tensors)`);
    }
    return v;
  }

  /** Input `i` if present and a constant, else undefined for an omitted optional input. */
  optionalConstant(i: number): FloatConstant | IntConstant | undefined {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') return undefined;
    const v = this.value(i, 'a constant');
    if (v.kind !== 'constant') throw this.error(`input ${i} ('${name}') must be a constant (an initializer or a Constant node), got a computed tensor`);
    return v.constant;
  }

  /** Input `i` as a float32 constant with `dims` (e.g. a weight). */
  floatConstant(i: number, what: string): FloatConstant {
    const c = this.optionalConstant(i);
    if (!c) throw this.error(`input ${i} (${what}) is missing`);
    if (c.kind !== 'float') throw this.error(`input ${i} (${what}) must be float32, got int64`);
    return c;
  }

  /** Input `i`, when present, as one float (Clip's bounds, Pad's value). */
  optionalScalar(i: number, what: string): number | undefined {
    const c = this.optionalConstant(i);
    if (!c) return undefined;
    if (c.data.length !== 1) throw this.error(`input ${i} (${what}) must hold one value, got ${c.data.length}`);
    return c.data[0]!;
  }

  /** Input `i` as int64 values (Reshape's shape, Pad's pads). */
  ints(i: number, what: string): readonly number[] {
    const c = this.optionalConstant(i);
    if (!c) throw this.error(`input ${i} (${what}) is missing`);
    if (c.kind !== 'int') throw this.error(`input ${i} (${what}) must be int64, got float32`);
    return c.data;
  }

  /**
   * Applies `layer` (named after this node) to `inputs` and records the
   * weights it gets once built. A shape or configuration error becomes a
   * ModelFormatError naming the node.
   */
  addLayer(make: (name: string) => AnyLayer, inputs: readonly SymbolicTensor[], weights: LayerWeights = {}): SymbolicTensor {
    const name = this.uniqueName();
    try {
      const layer = make(name);
      const out = layer.apply(inputs);
      this.state.weights.set(layer, weights);
      return out;
    } catch (cause) {
      if (cause instanceof LiteCnnError) throw nodeError(this.node, cause.message);
      throw cause;
    }
  }

  /** What input `i` is, without requiring a kind. */
  inputKind(i: number): Value['kind'] | 'missing' {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') return 'missing';
    return this.state.values.get(name)?.kind ?? 'missing';
  }

  private value(i: number, what: string): Value {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') throw this.error(`input ${i} (${what}) is missing`);
    const v = this.state.values.get(name);
    if (!v) throw this.error(`input ${i} ('${name}') is not defined`);
    if (v.kind === 'unavailable') throw this.error(`input ${i} ('${name}') is ${v.reason}, which lite-cnn does not compute`);
    return v;
  }

  /** The node's name (or its op and position), made unique among the model's layers. */
  private uniqueName(): string {
    const base = this.node.proto.name || `${this.node.opType}_${this.node.index}`;
    let name = base;
    for (let k = 1; this.state.usedNames.has(name); k++) name = `${base}_${k}`;
    this.state.usedNames.add(name);
    return name;
  }
}
