/**
 * What every layer knows: its strict config (with a `kind` discriminant),
 * its output shape for an input shape (validating the input), the tensors it
 * owns, and the executor steps it becomes. Numbers are the executor's job.
 */
import type { StepDescription, TensorRole } from '../exec/compiled-model.js';
import type { Initializer } from './initializers.js';
import { formatShape, type Shape3 } from './shape.js';
import { ConfigError, ShapeError } from '../errors.js';
import { SymbolicTensor } from './symbolic.js';

export interface ParamSpec {
  role: TensorRole;
  shape: number[];
  trainable: boolean;
  initializer: Initializer;
  /** Fan-in and fan-out for variance-scaling initializers. */
  fanIn: number;
  fanOut: number;
}

/** Fields every layer config has. */
export interface BaseLayerConfig {
  kind: string;
  name: string;
  /** Per-sample input shape when this is the first layer (`inputShape` in Keras). */
  inputShape: Shape3 | null;
}

/** Fields every layer's user-facing args may set. */
export interface BaseLayerArgs {
  /** Unique name within the model (default: `<kind>_<n>`). */
  name?: string;
  /** Per-sample input shape `[h, w, c]` (or `[features]`) of the model, on its first layer. */
  inputShape?: readonly number[];
}

export { normalizeInputShape } from './shape.js';

export abstract class Layer<C extends BaseLayerConfig = BaseLayerConfig> {
  protected constructor(protected readonly cfg: C) {}

  /**
   * Keras' `trainable`: when false the layer's weights get no gradient and no
   * update, a BatchNormalization runs in inference mode, and the backward
   * pass stops below the lowest trainable layer. Takes effect at the next
   * `compile()`, as in Keras.
   */
  trainable = true;

  /** The symbolic output once `apply` was called (a layer is applied once: no weight sharing). */
  private applied: SymbolicTensor | undefined;

  /** How many inputs `apply` takes: exactly one, or (merge layers) two or more. */
  get arity(): 'one' | 'many' {
    return 'one';
  }

  /**
   * The functional API: this layer applied to symbolic tensors (from
   * `input()` or other layers), giving the symbolic tensor of its output.
   * Shapes are checked now.
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor {
    const list: readonly SymbolicTensor[] = inputs instanceof SymbolicTensor ? [inputs] : inputs;
    const where = `${this.cfg.kind}${this.cfg.name ? ` '${this.cfg.name}'` : ''}`;
    if (!Array.isArray(list) || !list.every((t) => t instanceof SymbolicTensor)) {
      throw new ConfigError(`${where}: apply() takes a symbolic tensor (from input() or another layer's apply()) or an array of them`);
    }
    if (this.applied) throw new ConfigError(`${where}: already applied; a layer is applied once (create another layer for another call)`);
    if (this.arity === 'one' && list.length !== 1) throw new ConfigError(`${where}: takes exactly 1 input, got ${list.length}`);
    if (this.arity === 'many' && list.length < 2) throw new ConfigError(`${where}: takes at least 2 inputs, got ${list.length}`);
    const shape = this.outputShapeFor(list.map((t) => t.shape), -1);
    this.applied = new SymbolicTensor(shape, { layer: this as unknown as Layer, inputs: list });
    return this.applied;
  }

  /** Validates the input shapes and returns the output shape (`index` -1: not yet in a model). */
  outputShapeFor(inputs: readonly Shape3[], index: number): Shape3 {
    return this.computeOutputShape(inputs[0]!, index);
  }

  get name(): string {
    return this.cfg.name;
  }

  get kind(): C['kind'] {
    return this.cfg.kind;
  }

  /** @internal Sequential names unnamed layers when they are added. */
  assignName(name: string): void {
    if (this.cfg.name === '') this.cfg.name = name;
  }

  /** The stored, complete configuration (a copy). */
  getConfig(): C {
    return structuredClone(this.cfg);
  }

  /** `Conv2D 'conv2d' (layer 0)`: how errors name this layer. */
  describe(index: number): string {
    const name = this.cfg.name ? ` '${this.cfg.name}'` : '';
    return index < 0 ? `${this.cfg.kind}${name}` : `${this.cfg.kind}${name} (layer ${index})`;
  }

  /** Validates `input` and returns the per-sample output shape. */
  abstract computeOutputShape(input: Shape3, index: number): Shape3;

  /** Tensors this layer owns, in executor order. */
  paramSpecs(_input: Shape3): ParamSpec[] {
    return [];
  }

  /** The executor steps this layer becomes (its activation included). */
  abstract steps(input: Shape3): StepDescription[];

  /** Whether the layer is followed by ReLU-like activation inside itself (for default initializers). */
  get endsWithRelu(): boolean {
    return false;
  }

  protected shapeError(index: number, expected: string, input: Shape3): ShapeError {
    return new ShapeError(`${this.describe(index)}: expected input ${expected}, got ${formatShape(input)}`);
  }
}
