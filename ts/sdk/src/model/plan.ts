/**
 * From a graph of layers to an executor description: shape inference
 * (validating every layer), the executor steps each layer becomes and the
 * values they read, and the name, shape and initializer of every tensor.
 * Pure TypeScript; no engine needed.
 */
import type { StepDescription } from '../exec/compiled-model.js';
import type { AnyLayer } from '../layers/config.js';
import { KernelLayer } from '../layers/kernel-layer.js';
import type { ParamSpec } from '../layers/layer.js';
import type { L2Regularizer } from '../layers/regularizers.js';
import type { Shape3 } from '../layers/shape.js';
import { ConfigError, ShapeError } from '../errors.js';

/** One layer of a graph and the layers it reads (-1: the model input). */
export interface LayerNode {
  layer: AnyLayer;
  inputs: number[];
}

/** Layers in topological order; the last one's output is the model's output. */
export interface ModelGraph {
  input: Shape3;
  nodes: LayerNode[];
}

export interface PlannedTensor extends ParamSpec {
  /** `layers.3.kernel`, `layers.4.moving_mean`, ... */
  name: string;
  layer: number;
  size: number;
}

export interface ModelPlan {
  input: Shape3;
  /** Output shape of each layer. */
  shapes: Shape3[];
  /** Executor steps; each lists the values it reads (0: the input, i + 1: step i's output). */
  steps: StepDescription[];
  /** The model layer each executor step belongs to. */
  stepOwner: number[];
  /** Index of the last executor step of each layer (its output, activation included); -1 when the layer passes the model input through. */
  lastStep: number[];
  tensors: PlannedTensor[];
  /** The one L2 form and lambda the model's regularized kernels share, if any. */
  regularizer: L2Regularizer | null;
}

const snake: Record<ParamSpec['role'], string> = {
  kernel: 'kernel',
  bias: 'bias',
  gamma: 'gamma',
  beta: 'beta',
  movingMean: 'moving_mean',
  movingVariance: 'moving_variance',
};

export function tensorName(layer: number, role: ParamSpec['role']): string {
  return `layers.${layer}.${snake[role]}`;
}

export function planModel(graph: ModelGraph): ModelPlan {
  const { input, nodes } = graph;
  if (nodes.length === 0) throw new ConfigError('Model: the model has no layers');
  const shapes: Shape3[] = [];
  const steps: StepDescription[] = [];
  const stepOwner: number[] = [];
  const lastStep: number[] = [];
  const tensors: PlannedTensor[] = [];
  // The executor value holding each layer's output (0: the model input).
  const valueOf = (j: number) => (j < 0 ? 0 : lastStep[j]! + 1);
  nodes.forEach(({ layer, inputs }, i) => {
    if (inputs.some((j) => j >= i || j < -1 || !Number.isInteger(j))) throw new ConfigError(`${layer.describe(i)}: reads layers ${JSON.stringify(inputs)}, which are not all before it`);
    // Default kernel initializers depend on what follows (He for ReLU).
    if (layer instanceof KernelLayer) layer.resolveDefaultInitializer(reluFollows(nodes, i));
    const inShapes = inputs.map((j) => (j < 0 ? input : shapes[j]!));
    const out = layer.outputShapeFor(inShapes, i);
    for (const spec of layer.paramSpecs(inShapes[0]!)) {
      tensors.push({ ...spec, name: tensorName(i, spec.role), layer: i, size: spec.shape.reduce((a, b) => a * b, 1) });
    }
    let reads = inputs.map(valueOf);
    for (const step of layer.steps(inShapes[0]!)) {
      steps.push({ ...step, inputs: reads });
      stepOwner.push(i);
      reads = [steps.length];
    }
    if (reads.length !== 1) throw new ShapeError(`${layer.describe(i)}: a layer with several inputs must compute something`);
    lastStep.push(reads[0]! - 1);
    shapes.push(out);
  });
  if (steps.length === 0) throw new ShapeError('Model: the model computes nothing (only linear activations)');
  if (lastStep.at(-1) !== steps.length - 1) throw new ShapeError('Model: the last layer must compute the output (it passes an earlier value through)');
  return { input, shapes, steps, stepOwner, lastStep, tensors, regularizer: sharedRegularizer(nodes.map((n) => n.layer)) };
}

/** Whether a ReLU-like activation follows layer `i` along its single path of consumers. */
function reluFollows(nodes: readonly LayerNode[], i: number): boolean {
  let at = i;
  for (;;) {
    const consumers = nodes.flatMap((n, j) => (n.inputs.includes(at) ? [j] : []));
    if (consumers.length !== 1) return false;
    const next = nodes[consumers[0]!]!.layer;
    if (next.kind === 'BatchNormalization' || next.kind === 'Dropout') {
      at = consumers[0]!;
      continue;
    }
    return next.endsWithRelu && !(next instanceof KernelLayer);
  }
}

/**
 * The executor applies one L2 coefficient to every regularized kernel, so
 * layers must agree on it (the reference nets use one value throughout).
 */
function sharedRegularizer(layers: readonly AnyLayer[]): L2Regularizer | null {
  let shared: L2Regularizer | null = null;
  layers.forEach((layer, i) => {
    if (!(layer instanceof KernelLayer)) return;
    const r = layer.regularizer;
    if (!r || r.lambda === 0) return;
    if (shared && (shared.form !== r.form || shared.lambda !== r.lambda)) {
      throw new ConfigError(
        `${layer.describe(i)}: kernelRegularizer ${r.form}(${r.lambda}) differs from another layer's ${shared.form}(${shared.lambda}); ` +
          'all regularized layers of a model must share one L2 coefficient',
      );
    }
    shared = r;
  });
  return shared;
}
