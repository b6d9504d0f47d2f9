/** Layers that merge two or more inputs: Add (residual connections), Average (ensembles), Multiply (gates) and Concatenate. */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError, ShapeError } from '../errors.js';
import { Layer, type BaseLayerConfig } from './layer.js';
import { formatShape, type Shape3 } from './shape.js';

export interface MergeArgs {
  name?: string;
}

export interface AddConfig extends BaseLayerConfig {
  kind: 'Add';
}

export interface AverageConfig extends BaseLayerConfig {
  kind: 'Average';
}

export interface MultiplyConfig extends BaseLayerConfig {
  kind: 'Multiply';
}

export interface ConcatenateConfig extends BaseLayerConfig {
  kind: 'Concatenate';
  /** The channel axis (-1, Keras' default); the only one NHWC tensors join on here. */
  axis: -1;
}

abstract class Merge<C extends AddConfig | AverageConfig | MultiplyConfig | ConcatenateConfig> extends Layer<C> {
  override get arity(): 'many' {
    return 'many';
  }

  computeOutputShape(input: Shape3, index: number): Shape3 {
    throw new ShapeError(`${this.describe(index)}: takes at least 2 inputs, got 1 (${formatShape(input)})`);
  }

  protected mismatch(index: number, what: string, inputs: readonly Shape3[]): ShapeError {
    return new ShapeError(`${this.describe(index)}: expected inputs ${what}, got ${inputs.map((s) => formatShape(s)).join(', ')}`);
  }
}

/** A merge of two or more inputs of one shape, element by element. */
abstract class Elementwise<C extends AddConfig | AverageConfig> extends Merge<C> {
  override outputShapeFor(inputs: readonly Shape3[], index: number): Shape3 {
    const first = inputs[0]!;
    if (inputs.length < 2) throw this.mismatch(index, 'of one shape (at least 2)', inputs);
    if (inputs.some((s) => s[0] !== first[0] || s[1] !== first[1] || s[2] !== first[2])) throw this.mismatch(index, 'of one shape', inputs);
    return first;
  }
}

/** Elementwise sum of inputs of one shape (ResNet's shortcut). */
export class Add extends Elementwise<AddConfig> {
  constructor(args: MergeArgs = {}) {
    super({ kind: 'Add', name: args.name ?? '', inputShape: null });
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.ADD }];
  }
}

/**
 * Elementwise mean of inputs of one shape (Keras `Average`, ONNX `Mean`):
 * the sum in input order divided by their number. Averaging the softmax
 * outputs of independently trained networks makes a deep ensemble
 * (`ensembleModels`).
 */
export class Average extends Elementwise<AverageConfig> {
  constructor(args: MergeArgs = {}) {
    super({ kind: 'Average', name: args.name ?? '', inputShape: null });
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.AVERAGE }];
  }
}

/**
 * Product of two inputs (Keras `Multiply`, ONNX `Mul`, PyTorch `a * b`): of
 * one shape, element by element, or one of shape `[1, 1, c]` scaling every
 * pixel of the other per channel: the squeeze-and-excitation gate of
 * MobileNetV3 and EfficientNet (`GlobalAveragePooling2D`, 1x1 convolutions,
 * a sigmoid, then `Multiply` with the map it came from).
 */
export class Multiply extends Merge<MultiplyConfig> {
  constructor(args: MergeArgs = {}) {
    super({ kind: 'Multiply', name: args.name ?? '', inputShape: null });
  }

  override outputShapeFor(inputs: readonly Shape3[], index: number): Shape3 {
    const what = 'of one shape, or one of [1, 1, c] and one of [h, w, c] (2 inputs)';
    if (inputs.length !== 2) throw this.mismatch(index, what, inputs);
    const [a, b] = inputs as [Shape3, Shape3];
    const same = a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
    const scales = (s: Shape3, x: Shape3) => s[0] === 1 && s[1] === 1 && s[2] === x[2];
    if (same || scales(b, a)) return a;
    if (scales(a, b)) return b;
    throw this.mismatch(index, what, inputs);
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.MULTIPLY }];
  }
}

export interface ConcatenateArgs extends MergeArgs {
  /** -1 (the default): the channel axis. */
  axis?: number;
}

/** Inputs of one height and width joined along the channel axis, in order (Inception, DenseNet). */
export class Concatenate extends Merge<ConcatenateConfig> {
  constructor(args: ConcatenateArgs = {}) {
    const axis = args.axis ?? -1;
    if (axis !== -1 && axis !== 3) throw new ConfigError(`Concatenate${args.name ? ` '${args.name}'` : ''}: axis must be -1 (channels, NHWC), got ${axis}`);
    super({ kind: 'Concatenate', name: args.name ?? '', inputShape: null, axis: -1 });
  }

  override outputShapeFor(inputs: readonly Shape3[], index: number): Shape3 {
    const first = inputs[0]!;
    if (inputs.length < 2) throw this.mismatch(index, 'of one height and width (at least 2)', inputs);
    if (inputs.some((s) => s[0] !== first[0] || s[1] !== first[1])) throw this.mismatch(index, 'of one height and width', inputs);
    return [first[0], first[1], inputs.reduce((c, s) => c + s[2], 0)];
  }

  steps(): StepDescription[] {
    return [{ kind: StepKind.CONCAT }];
  }
}
