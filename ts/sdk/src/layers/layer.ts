/**
 * What every layer knows: its strict config (with a `kind` discriminant),
 * its output shape for an input shape (validating the input), the tensors it
 * owns, and the executor steps it becomes. Numbers are the executor's job.
 */
import type { LayerDescription, TensorRole } from '../exec/compiled-model.js';
import type { Initializer } from './initializers.js';
import { formatShape, type Shape3 } from './shape.js';
import { ShapeError } from '../errors.js';

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

export function normalizeInputShape(shape: readonly number[] | undefined, where: string): Shape3 | null {
  if (shape === undefined) return null;
  if (shape.length === 0 || shape.length > 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`${where}: inputShape must be 1 to 3 positive integers ([h, w, c] or [features]), got [${shape.join(', ')}]`);
  }
  if (shape.length === 1) return [1, 1, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!, 1];
  return [shape[0]!, shape[1]!, shape[2]!];
}

export abstract class Layer<C extends BaseLayerConfig = BaseLayerConfig> {
  protected constructor(protected readonly cfg: C) {}

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
    return `${this.cfg.kind} '${this.cfg.name}' (layer ${index})`;
  }

  /** Validates `input` and returns the per-sample output shape. */
  abstract computeOutputShape(input: Shape3, index: number): Shape3;

  /** Tensors this layer owns, in executor order. */
  paramSpecs(_input: Shape3): ParamSpec[] {
    return [];
  }

  /** The executor steps this layer becomes (its activation included). */
  abstract steps(input: Shape3): LayerDescription[];

  /** Whether the layer is followed by ReLU-like activation inside itself (for default initializers). */
  get endsWithRelu(): boolean {
    return false;
  }

  protected shapeError(index: number, expected: string, input: Shape3): ShapeError {
    return new ShapeError(`${this.describe(index)}: expected input ${expected}, got ${formatShape(input)}`);
  }
}
